# Cross-compile for the Raspberry Pi (arm64) with Debian's gcc-aarch64-linux-gnu
# against the :arm64 multiarch -dev packages (see scripts/cross-arm64).
# protoc-c stays the build machine's; tests run under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Headers and libraries from /usr/include and /usr/lib/aarch64-linux-gnu;
# programs (protoc-c, python3) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# ctest runs the test binaries through qemu-user; -L / finds the arm64
# loader and libraries in their multiarch paths.
find_program(LEAFMON_QEMU_AARCH64 qemu-aarch64)
if(LEAFMON_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LEAFMON_QEMU_AARCH64} -L /)
endif()
