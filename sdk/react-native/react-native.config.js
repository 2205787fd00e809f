/** Autolinking: the Android package class and the iOS podspec. */
module.exports = {
  dependency: {
    platforms: {
      android: {sourceDir: './android', packageImportPath: 'import dev.hotpatch.rn.HotPatchPackage;', packageInstance: 'new HotPatchPackage()'},
      ios: {podspecPath: __dirname + '/HotPatch.podspec'},
    },
  },
};
