# Install rules and the Debian package (CPack). Included from the top-level CMakeLists.txt after the
# targets exist. Layout under the prefix (/usr in the package):
#   bin/epic, bin/epic-desktop
#   share/epic-desktop/{sample-library/, get-models.sh, models.sha256}   found by core/paths.cpp
#   share/applications, share/metainfo, share/icons/hicolor/*/apps      desktop integration
# Model files are never packaged: the first run (or get-models.sh) fetches them into the user's
# XDG data folder. Build the package with installer/install-check.sh or:
#   cmake -S . -B build-pkg -G Ninja -DEPIC_CUDA=OFF -DEPIC_NATIVE=OFF -DEPIC_MARCH=x86-64-v3 \
#         -DEPIC_SOURCE_RESOURCES=OFF -DEPIC_TESTS=OFF && cmake --build build-pkg && (cd build-pkg && cpack)
include(GNUInstallDirs)

set(EPIC_APP_ID io.github.epicdesktop.EpicDesktop)
set(_epic_share ${CMAKE_INSTALL_DATADIR}/epic-desktop)

install(TARGETS epic RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The documents, README and facts.json (the sample library's questions; epic-make-qa-set reads it); not
# the generator script. Developer tools (tools/, epic-make-qa-set) have no install rule: not packaged.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/sample-library/ DESTINATION ${_epic_share}/sample-library
        PATTERN generate.py EXCLUDE PATTERN __pycache__ EXCLUDE)
# get-models.sh looks for models.sha256 beside itself.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/installer/get-models.sh DESTINATION ${_epic_share})
install(FILES ${PROJECT_SOURCE_DIR}/installer/models.sha256 DESTINATION ${_epic_share})

if(EPIC_HAVE_GUI)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/${EPIC_APP_ID}.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  configure_file(${PROJECT_SOURCE_DIR}/resources/${EPIC_APP_ID}.metainfo.xml
                 ${PROJECT_BINARY_DIR}/${EPIC_APP_ID}.metainfo.xml @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${EPIC_APP_ID}.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/epic-desktop.svg
          DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps RENAME ${EPIC_APP_ID}.svg)
  foreach(_size 16 32 48 64 128 256)
    install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/epic-desktop-${_size}.png
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${_size}x${_size}/apps RENAME ${EPIC_APP_ID}.png)
  endforeach()
endif()

if(EPIC_HAVE_CUDA)
  # The binaries would link cudart/cuBLAS, so the package would not install on CPU-only machines.
  message(WARNING "EPIC: the CUDA backend is built in; a package from this build needs the CUDA libraries. "
                  "Configure with -DEPIC_CUDA=OFF for the distributable package.")
endif()
if(EPIC_NATIVE)
  message(STATUS "EPIC: built with -march=native; a package from this build runs only on CPUs like this one "
                 "(packages use -DEPIC_NATIVE=OFF -DEPIC_MARCH=x86-64-v3)")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME epic-desktop)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "EPIC desktop")
set(CPACK_PACKAGE_CONTACT "EPIC desktop developers <epic-desktop@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "local document question answering with position-independent KV caching")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Ask questions about your documents with a language model running locally.
Text, Markdown, HTML and PDF documents are cut into chunks compiled once into
KV caches (zstd-compressed, indexed in SQLite); at question time the
retrieved chunks are linked with LegoLink, so answers start quickly.
.
Includes the Qt desktop app (epic-desktop), the epic command-line tool, a
sample library and a script that downloads a small default model (models
are not included). The CPU backend is built for x86-64-v3 (AVX2, FMA).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies (Qt 6 Widgets, sentencepiece, zstd, SQLite, poppler-cpp, PCRE2, libstdc++) come
# from dpkg-shlibdeps on the installed binaries, with the versions they were linked against.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# get-models.sh downloads the default model with pip (download only; nothing is installed).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, python3-pip")
set(CPACK_STRIP_FILES ON)
include(CPack)
