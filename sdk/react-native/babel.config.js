/** Babel for the package's Jest run (the app's Metro uses its own). */
module.exports = {presets: [require.resolve('@react-native/babel-preset', {paths: [process.env.HP_RN_NODE_MODULES || __dirname]})]};
