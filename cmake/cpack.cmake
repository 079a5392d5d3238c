# A Debian package with CPack:  cpack -G DEB  in a build directory configured with
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr -DCRATON_TESTS=OFF
# (the /usr prefix gives the multiarch library directory and p11-kit's module directory).
# CPack installs with DESTDIR (CPACK_SET_DESTDIR), so the install-time paths written into
# craton.pc and craton.module are the package's, not the staging directory's, and the
# integrity sidecar is computed on the staged library, which is shipped unstripped.
set(CPACK_PACKAGE_NAME craton)
set(CPACK_PACKAGE_VENDOR "Craton")
set(CPACK_PACKAGE_CONTACT "Craton maintainers <craton@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "PKCS#11 v3.0 software token")
set(CPACK_PACKAGE_DESCRIPTION
    "Craton is a software HSM: libcraton.so, a PKCS#11 v3.0 module keeping keys in a SQLite database per token, sealed with AES-256-GCM under PIN-protected token keys. Registered with p11-kit. Includes craton-util and craton-audit.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES OFF)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Exact dependencies from the binaries when dpkg-shlibdeps (dpkg-dev) is there, else the
# Debian 12 package names of the libraries the module and tools link.
find_program(CRATON_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(CRATON_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libssl3 (>= 3.0), libsqlite3-0 (>= 3.34), libsodium23 (>= 1.0.18), libinih1 (>= 53)")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "p11-kit")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "opensc, gnutls-bin, libnss3-tools, libengine-pkcs11-openssl")
include(CPack)
