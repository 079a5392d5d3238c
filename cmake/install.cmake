# Install rules beyond the targets' own (src/ installs libcraton.so into <libdir>/pkcs11 with its
# integrity sidecar, the headers; tools/ installs craton-util and craton-audit): the pkg-config
# file, the p11-kit module file, the man pages, the example configuration and the docs.
# Included from the top-level CMakeLists.txt after add_subdirectory(tools).
#
# The pkg-config and p11-kit files hold absolute paths. They are written at install time, from
# the prefix in force then, so `cmake --install BUILD --prefix DIR` and CPack (which installs
# with DESTDIR, see cmake/cpack.cmake) get paths that match where the library lands; DESTDIR
# itself never appears in them.

# Where p11-kit reads module files. With the /usr prefix it is p11-kit's own directory
# (pkg-config --variable p11_module_configs p11-kit-1, /usr/share/p11-kit/modules on Debian),
# kept relative to the prefix so a staged install stays under its prefix. For any other prefix
# the file goes to <prefix>/share/p11-kit/modules, which p11-kit does not read: point this
# variable at /etc/pkcs11/modules (p11-kit's system configuration directory) to register a
# /usr/local install, or copy the file there (docs/install.md).
set(_craton_p11kit_dir "${CMAKE_INSTALL_DATADIR}/p11-kit/modules")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(_craton_p11kit_configs p11-kit-1 p11_module_configs)
  if(_craton_p11kit_configs MATCHES "^/usr/(.+)$")
    set(_craton_p11kit_dir "${CMAKE_MATCH_1}")
  endif()
endif()
set(CRATON_P11KIT_MODULE_DIR "${_craton_p11kit_dir}" CACHE STRING
    "Where craton.module is installed (relative: under the install prefix)")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND NOT IS_ABSOLUTE "${CRATON_P11KIT_MODULE_DIR}")
  message(STATUS "craton: p11-kit module file goes to ${CMAKE_INSTALL_PREFIX}/${CRATON_P11KIT_MODULE_DIR}, "
                 "which p11-kit does not read; -DCMAKE_INSTALL_PREFIX=/usr or "
                 "-DCRATON_P11KIT_MODULE_DIR=/etc/pkcs11/modules registers the module")
endif()
# Lower than p11-kit-trust's 1 would put the token after the trust store in lookups; 0 is
# the default for modules without trust policy. Kept explicit so the file documents it.
set(CRATON_P11KIT_PRIORITY 0 CACHE STRING "priority: in craton.module")

# Every directory, relative or absolute, as install(CODE) sees it at install time.
set(_craton_gen "${PROJECT_BINARY_DIR}/cmake-install")
install(CODE "
  set(_pfx \"\${CMAKE_INSTALL_PREFIX}\")
  macro(_craton_abs out rel)
    if(IS_ABSOLUTE \"\${rel}\")
      set(\${out} \"\${rel}\")
    else()
      set(\${out} \"\${_pfx}/\${rel}\")
    endif()
  endmacro()
  _craton_abs(libdir \"${CMAKE_INSTALL_LIBDIR}\")
  _craton_abs(includedir \"${CMAKE_INSTALL_INCLUDEDIR}\")
  _craton_abs(_p11kitdir \"${CRATON_P11KIT_MODULE_DIR}\")
  set(prefix \"\${_pfx}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(CRATON_P11KIT_PRIORITY \"${CRATON_P11KIT_PRIORITY}\")
  set(module \"\${libdir}/pkcs11/libcraton.so\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/craton.pc.in\" \"${_craton_gen}/craton.pc\" @ONLY)
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/craton.module.in\" \"${_craton_gen}/craton.module\" @ONLY)
  file(INSTALL DESTINATION \"\${libdir}/pkgconfig\" TYPE FILE FILES \"${_craton_gen}/craton.pc\")
  file(INSTALL DESTINATION \"\${_p11kitdir}\" TYPE FILE FILES \"${_craton_gen}/craton.module\")
")

# Man pages, roff source in docs/man.
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/craton.7 DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/craton-util.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The example configuration and the docs, under share/doc/craton. Never into /etc: an admin's
# craton.conf is theirs (docs/configuration.md says how to start one from the example).
install(FILES ${PROJECT_SOURCE_DIR}/docs/craton.conf.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
foreach(_doc install configuration cookbook troubleshooting craton-util audit performance
             threat-model)
  if(EXISTS ${PROJECT_SOURCE_DIR}/docs/${_doc}.md)
    install(FILES ${PROJECT_SOURCE_DIR}/docs/${_doc}.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
  endif()
endforeach()

include(${PROJECT_SOURCE_DIR}/cmake/cpack.cmake)
