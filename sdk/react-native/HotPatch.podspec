# HotPatch.podspec - iOS part of @hotpatch/react-native.
# NOT built in the HotPatch repository (no Xcode/CocoaPods there). What is
# checked here (tests/integration/rn/podspec.sh): this file is evaluated by
# Ruby with a stand-in for CocoaPods' DSL, every glob matches files, the C file
# set equals android/CMakeLists.txt's (modulo the JNI bridge and the
# platform's zlib), and that set compiles and runs on the host with the flags,
# defines and header paths below (clang, as a proxy for Apple clang).
#
# Compiled here: the C core's own sources (cpp/core, copied by `npm pack` from
# the repository: scripts/copy-core.sh) and the pinned third-party sources in
# third_party/, laid out by scripts/third-party.sh (third-party.lock: Debian
# bookworm source packages, SHA-256 checked; not vendored, the workplace
# forbids committing code copied from public repositories). The same subset
# as android/CMakeLists.txt:
#   libsodium 1.0.18: the part the core calls (Ed25519, SHA-2, verify, randombytes, chacha20 for
#     randombytes' deterministic variant), with android/src/main/cpp/hp_sodium_subset.c
#   jansson 2.14: its configure headers are ours (ios/third-party-config/jansson*_config.h)
#   zstd 1.5.4: common + decompress + compress (common/patch.c also writes patches; dead-stripped),
#     no assembly, no threads, no legacy formats, no trace hooks
#   libzip 1.7.3: lib/ minus Windows, encryption backends, bzip2/xz methods; config.h and zipconf.h
#     are ours (ios/third-party-config/), zip_err_str.c is derived from zip.h by third-party.sh
#   zlib: the system's (s.libraries)
#
# Symbols: everything is compiled with hidden visibility (GCC_SYMBOLS_PRIVATE_EXTERN) and the pod's
# objects are prelinked into one (GENERATE_MASTER_OBJECT_FILE: `ld -r` turns hidden symbols into local
# ones), so libsodium/jansson/libzip/zstd symbols cannot clash with another pod carrying the same
# library, in a static link too. What stays global: the ObjC classes (HotPatch is marked
# visibility("default")) and the core's hp_* C API (hotpatch.h, prefixed). As on Android, where a
# version script keeps only Java_*.
require "json"
package = JSON.parse(File.read(File.join(__dir__, "package.json")))
tp = "third_party"
sodium = "#{tp}/libsodium-1.0.18/src/libsodium"
sodium_dirs = %w[sodium crypto_sign crypto_sign/ed25519 crypto_sign/ed25519/ref10 crypto_core/ed25519
                 crypto_core/ed25519/ref10 crypto_hash crypto_hash/sha256 crypto_hash/sha256/cp crypto_hash/sha512
                 crypto_hash/sha512/cp crypto_verify/sodium crypto_stream/chacha20 crypto_stream/chacha20/ref
                 randombytes randombytes/sysrandom]
libzip = "#{tp}/libzip-1.7.3"

# `pod install` runs prepare_command only for pods it downloads; React Native autolinking installs this
# one with :path, where CocoaPods never runs it. So the layout is checked (and made, from the cache or
# deb.debian.org, SHA-256 verified) right here when any pinned folder or generated file is missing.
needed = %w[libsodium-1.0.18 jansson-2.14 zstd-1.5.4 libzip-1.7.3].map { |d| File.join(__dir__, tp, d, ".hotpatch-pin") } +
         [File.join(__dir__, libzip, "hotpatch-gen", "zip_err_str.c")]
unless needed.all? { |f| File.exist?(f) }
  unless system("sh", File.join(__dir__, "scripts", "third-party.sh"), out: $stderr)
    raise "HotPatch: scripts/third-party.sh could not lay out the pinned C sources in #{File.join(__dir__, tp)} " \
          "(see its message above; it needs deb.debian.org once, or a filled HOTPATCH_CACHE)"
  end
end
unless File.exist?(File.join(__dir__, "cpp", "core", "sdk", "include", "hotpatch.h"))
  raise "HotPatch: #{File.join(__dir__, 'cpp', 'core')} holds no core sources: install the npm package " \
        "(`npm pack` copies them, scripts/copy-core.sh)"
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
  s.prepare_command = "sh scripts/third-party.sh"
  s.source_files = ["ios/**/*.{h,m,mm}", "cpp/core/sdk/*.{c,h}", "cpp/core/sdk/include/*.h",
                    "cpp/core/common/*.c", "cpp/core/common/include/common/*.h",
                    "android/src/main/cpp/hp_sodium_subset.c"] +
                   sodium_dirs.map { |d| "#{sodium}/#{d}/*.c" } +
                   ["#{tp}/jansson-2.14/src/*.c",
                    "#{tp}/zstd-1.5.4/lib/common/*.c", "#{tp}/zstd-1.5.4/lib/decompress/*.c",
                    "#{tp}/zstd-1.5.4/lib/compress/*.c",
                    "#{libzip}/lib/zip_*.c", "#{libzip}/hotpatch-gen/zip_err_str.c"]
  s.exclude_files = ["cpp/core/sdk/agent.c", "cpp/core/sdk/transport_curl.c",
                     "#{libzip}/lib/zip_algorithm_{bzip2,xz}.c", "#{libzip}/lib/zip_crypto_*.c",
                     "#{libzip}/lib/zip_*winzip_aes*.c", "#{libzip}/lib/zip_random_{uwp,win32}.c",
                     "#{libzip}/lib/zip_source_file_win32*.c"]
  s.public_header_files = "ios/HotPatch.h"
  s.preserve_paths = "#{tp}/**/*.h", "third-party.lock", "scripts/*.sh"
  s.libraries    = "z"
  s.pod_target_xcconfig = {
    "HEADER_SEARCH_PATHS" => [
      "$(PODS_TARGET_SRCROOT)/ios/third-party-config",
      "$(PODS_TARGET_SRCROOT)/cpp/core/common/include", "$(PODS_TARGET_SRCROOT)/cpp/core/sdk/include",
      "$(PODS_TARGET_SRCROOT)/cpp/core/sdk",
      "$(PODS_TARGET_SRCROOT)/#{sodium}/include", "$(PODS_TARGET_SRCROOT)/#{sodium}/include/sodium",
      "$(PODS_TARGET_SRCROOT)/#{tp}/jansson-2.14/src", "$(PODS_TARGET_SRCROOT)/#{tp}/zstd-1.5.4/lib",
      "$(PODS_TARGET_SRCROOT)/#{libzip}/lib",
    ].map { |p| "\"#{p}\"" }.join(" "),
    # The Android build's definitions (android/CMakeLists.txt), target by target: libsodium's, zstd's,
    # jansson's HAVE_CONFIG_H (only jansson reads it) and the core's _GNU_SOURCE-free POSIX needs.
    "GCC_PREPROCESSOR_DEFINITIONS" => "$(inherited) CONFIGURED=1 SODIUM_STATIC=1 NATIVE_LITTLE_ENDIAN=1 " \
                                      "HAVE_CONFIG_H=1 " \
                                      "ZSTD_DISABLE_ASM=1 ZSTD_LEGACY_SUPPORT=0 ZSTD_MULTITHREAD=0 ZSTD_TRACE=0 " \
                                      "ZSTDLIB_VISIBLE= ZSTDERRORLIB_VISIBLE= ZDICTLIB_VISIBLE= " \
                                      "XXH_NAMESPACE=hp_zstd_",
    "GCC_SYMBOLS_PRIVATE_EXTERN" => "YES",
    "GENERATE_MASTER_OBJECT_FILE" => "YES",
    "GCC_C_LANGUAGE_STANDARD" => "gnu11", # Xcode's default; strict c11 would hide POSIX on glibc (the host check)
  }
  install_modules_dependencies(s)
end
