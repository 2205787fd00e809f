# HotPatch.podspec - iOS part of @hotpatch/react-native.
# NOT built in the HotPatch repository (no Xcode/CocoaPods there): unverified.
#
# Compiled here: the C core's own sources (cpp/core, copied by `npm pack` from
# the repository: scripts/copy-core.sh) and the pinned third-party sources in
# third_party/, laid out by `sh scripts/third-party.sh` (third-party.lock:
# Debian bookworm source packages, SHA-256 checked; not vendored, the workplace
# forbids committing code copied from public repositories). CocoaPods only
# compiles files inside the pod folder, so run the script in the package
# before `pod install` (it needs the network once; the build never does).
#
#   libsodium 1.0.18: the subset the core calls (as android/CMakeLists.txt)
#   jansson 2.14, zstd 1.5.4 (no assembly, no threads): whole libraries; jansson
#     needs src/jansson_config.h, which only its CMake/configure step writes:
#     NOT generated yet for the pod (unverified gap, docs/react-native.md)
#   libzip 1.7.3: NOT wired here (its config.h/zipconf.h come from its CMake
#     configure step, which CocoaPods does not run): add it as a prebuilt
#     xcframework or a separate pod; see docs/react-native.md
#   zlib: the system's (s.libraries)
require "json"
package = JSON.parse(File.read(File.join(__dir__, "package.json")))
tp = "third_party"
sodium = "#{tp}/libsodium-1.0.18/src/libsodium"
sodium_dirs = %w[sodium crypto_sign crypto_sign/ed25519 crypto_sign/ed25519/ref10 crypto_core/ed25519
                 crypto_core/ed25519/ref10 crypto_hash crypto_hash/sha256 crypto_hash/sha256/cp crypto_hash/sha512
                 crypto_hash/sha512/cp crypto_verify/sodium randombytes randombytes/sysrandom]
unless File.exist?(File.join(__dir__, tp, "libsodium-1.0.18", ".hotpatch-pin"))
  Pod::UI.warn "HotPatch: #{tp}/ is not laid out: run `sh scripts/third-party.sh` in #{__dir__} before pod install"
end

Pod::Spec.new do |s|
  s.name         = "HotPatch"
  s.version      = package["version"]
  s.summary      = package["description"]
  s.license      = package["license"]
  s.authors      = "HotPatch"
  s.homepage     = "https://example.invalid/hotpatch"
  s.platforms    = { :ios => "15.1" }
  s.source       = { :path => "." }
  s.source_files = ["ios/**/*.{h,m,mm}", "cpp/core/sdk/*.{c,h}", "cpp/core/sdk/include/*.h",
                    "cpp/core/common/*.c", "cpp/core/common/include/common/*.h",
                    "android/src/main/cpp/hp_sodium_subset.c"] +
                   sodium_dirs.map { |d| "#{sodium}/#{d}/*.c" } +
                   ["#{tp}/jansson-2.14/src/*.c",
                    "#{tp}/zstd-1.5.4/lib/common/*.c", "#{tp}/zstd-1.5.4/lib/decompress/*.c",
                    "#{tp}/zstd-1.5.4/lib/compress/*.c"]
  s.exclude_files = "cpp/core/sdk/agent.c", "cpp/core/sdk/transport_curl.c"
  s.public_header_files = "ios/HotPatch.h"
  s.preserve_paths = "#{tp}/**/*.h", "third-party.lock", "scripts/*.sh"
  s.libraries    = "z"
  s.pod_target_xcconfig = {
    "HEADER_SEARCH_PATHS" => [
      "$(PODS_TARGET_SRCROOT)/cpp/core/common/include", "$(PODS_TARGET_SRCROOT)/cpp/core/sdk/include",
      "$(PODS_TARGET_SRCROOT)/#{sodium}/include", "$(PODS_TARGET_SRCROOT)/#{sodium}/include/sodium",
      "$(PODS_TARGET_SRCROOT)/#{tp}/jansson-2.14/src", "$(PODS_TARGET_SRCROOT)/#{tp}/zstd-1.5.4/lib",
      "$(PODS_TARGET_SRCROOT)/#{tp}/libzip-1.7.3/lib",
    ].map { |p| "\"#{p}\"" }.join(" "),
    "GCC_PREPROCESSOR_DEFINITIONS" => "$(inherited) CONFIGURED=1 SODIUM_STATIC=1 NATIVE_LITTLE_ENDIAN=1 " \
                                      "ZSTD_DISABLE_ASM=1 ZSTD_LEGACY_SUPPORT=0 ZSTD_MULTITHREAD=0 " \
                                      "XXH_NAMESPACE=hp_zstd_ HAVE_STDINT_H=1",
    # hidden symbols: no clash with another pod's dynamic copy of the same C library. In a static link (the
    # default for pods) hidden does not prevent duplicate-symbol errors: see docs/react-native.md.
    "GCC_SYMBOLS_PRIVATE_EXTERN" => "YES",
    "GCC_C_LANGUAGE_STANDARD" => "c11",
  }
  install_modules_dependencies(s)
end
