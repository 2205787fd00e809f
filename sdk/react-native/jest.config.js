/**
 * Jest configuration of @hotpatch/react-native's tests: the react-native
 * preset from the fixture app's node_modules (HP_RN_NODE_MODULES), so the
 * package is tested against the React Native it ships for.
 */
const path = require('path');
const nm = process.env.HP_RN_NODE_MODULES;
module.exports = {
  rootDir: __dirname,
  preset: path.join(nm, '@react-native/jest-preset'),
  moduleDirectories: ['node_modules', nm],
  testMatch: ['<rootDir>/__tests__/**/*.test.tsx'],
  transform: {'^.+\\.(js|ts|tsx)$': [path.join(nm, 'babel-jest'), {configFile: path.join(__dirname, 'babel.config.js')}]},
};
