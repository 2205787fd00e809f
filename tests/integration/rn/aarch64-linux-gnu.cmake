# aarch64-linux-gnu.cmake - CMake toolchain file for the aarch64 cross check of
# sdk/react-native/android/CMakeLists.txt (tests/integration/rn/cmake_core.sh):
# Debian's gcc-aarch64-linux-gnu with libc6-dev-arm64-cross, a stand-in for
# the NDK's arm64-v8a target (same ISA, LP64, ELF, a different libc).
#
# Everything CMake looks up (headers, libraries, packages, try_compile
# results) comes from the cross sysroot or from paths given explicitly on the
# command line, never from the host's /usr: a host libz.so or config header
# that leaked in would make the check meaningless. Programs (cmake, make)
# are still the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(HP_CROSS_TRIPLE aarch64-linux-gnu)
find_program(CMAKE_C_COMPILER ${HP_CROSS_TRIPLE}-gcc REQUIRED)
find_program(CMAKE_AR ${HP_CROSS_TRIPLE}-ar REQUIRED)
find_program(CMAKE_RANLIB ${HP_CROSS_TRIPLE}-ranlib REQUIRED)
find_program(CMAKE_STRIP ${HP_CROSS_TRIPLE}-strip REQUIRED)
# Debian's cross toolchain keeps its target headers and libraries here (not a --sysroot tree: the compiler
# finds them by itself); CMake's own searches are confined to it.
set(CMAKE_FIND_ROOT_PATH /usr/${HP_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# check_* probes link a real aarch64 executable against the cross libc (the default), so HAVE_* answers are
# the target's; they are never run (no emulator needed).
