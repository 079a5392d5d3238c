# Used by run.sh as CMAKE_PROJECT_INCLUDE: when the top-level CMakeLists.txt does not (yet)
# add tests/fuzz under FUZZ=ON, include it at the end of the top-level directory
# (deferred calls may not add subdirectories).
function(craton_fuzz_maybe_add)
  get_property(added GLOBAL PROPERTY CRATON_FUZZ_ADDED)
  if(NOT added)
    include(${CMAKE_SOURCE_DIR}/tests/fuzz/CMakeLists.txt)
  endif()
endfunction()
if(CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL craton_fuzz_maybe_add)
endif()
