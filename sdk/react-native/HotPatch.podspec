# HotPatch.podspec - iOS part of @hotpatch/react-native.
# NOT built in the HotPatch repository (no Xcode/CocoaPods there): unverified.
#
# The C core's own sources (cpp/core, copied by `npm pack`) are compiled here.
# Third-party C sources are NOT vendored (the workplace forbids committing code
# copied from public repositories): set HOTPATCH_THIRD_PARTY_DIR to a folder
# holding the unpacked, SHA-256-checked tarballs named in
# android/CMakeLists.txt (libsodium 1.0.18, jansson 2.14, libzip 1.7.3); zlib is the system's.
require "json"
package = JSON.parse(File.read(File.join(__dir__, "package.json")))
third = ENV["HOTPATCH_THIRD_PARTY_DIR"] || ""

Pod::Spec.new do |s|
  s.name         = "HotPatch"
  s.version      = package["version"]
  s.summary      = package["description"]
  s.license      = package["license"]
  s.authors      = "HotPatch"
  s.homepage     = "https://example.invalid/hotpatch"
  s.platforms    = { :ios => "15.1" }
  s.source       = { :path => "." }
  s.source_files = "ios/**/*.{h,m,mm}", "cpp/core/sdk/*.{c,h}", "cpp/core/sdk/include/*.h",
                   "cpp/core/common/*.c", "cpp/core/common/include/common/*.h"
  s.exclude_files = "cpp/core/sdk/agent.c", "cpp/core/sdk/transport_curl.c"
  s.public_header_files = "ios/HotPatch.h"
  s.libraries    = "z"
  s.pod_target_xcconfig = {
    "HEADER_SEARCH_PATHS" => "\"$(PODS_TARGET_SRCROOT)/cpp/core/common/include\" \"$(PODS_TARGET_SRCROOT)/cpp/core/sdk/include\" " \
                             "\"#{third}/libsodium-1.0.18/src/libsodium/include\" \"#{third}/jansson-2.14/src\" \"#{third}/libzip-1.7.3/lib\"",
    "GCC_SYMBOLS_PRIVATE_EXTERN" => "YES",   # hidden symbols: no clash with another pod's copy of the same C library
    "GCC_C_LANGUAGE_STANDARD" => "c11",
  }
  install_modules_dependencies(s)
end
