# The integrity sidecar libcraton.so.hmac: HMAC-SHA256 of the library under the public key in
# src/base/integrity.h, which C_Initialize checks (integrity_check; required in FIPS-approved-only
# mode). Written by tools/craton-hmac after every link of the library, and again on the installed
# file, since installing may change it (strip); whoever changes the library later (a packager's
# strip) must rerun `craton-hmac FILE` on the final file. Included from src/CMakeLists.txt after
# the craton target is defined.

add_executable(craton-hmac ${PROJECT_SOURCE_DIR}/tools/craton-hmac/craton-hmac.c)
target_include_directories(craton-hmac PRIVATE ${PROJECT_SOURCE_DIR}/src
                           ${PROJECT_SOURCE_DIR}/include/craton)
target_link_libraries(craton-hmac PRIVATE OpenSSL::Crypto)

add_dependencies(craton craton-hmac)
add_custom_command(TARGET craton POST_BUILD
  COMMAND craton-hmac $<TARGET_FILE:craton>
  COMMENT "Writing the integrity sidecar libcraton.so.hmac"
  VERBATIM)
set_property(TARGET craton APPEND PROPERTY ADDITIONAL_CLEAN_FILES
             $<TARGET_FILE:craton>.hmac)

# After install(TARGETS craton ...): recompute on the file as installed (DESTDIR and
# `cmake --install --prefix` honoured), and record the sidecar in install_manifest.txt.
install(CODE "
  set(_lib \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkcs11/$<TARGET_FILE_NAME:craton>\")
  message(STATUS \"Installing: \${_lib}.hmac\")
  execute_process(COMMAND \"$<TARGET_FILE:craton-hmac>\" \"\${_lib}\" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR \"craton-hmac failed on \${_lib}\")
  endif()
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${_lib}.hmac\")
")
