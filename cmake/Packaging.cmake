# Debian 12 packages, built by CPack from this build tree:
#
#   cmake --build build --target package      # or: cd build && cpack -G DEB
#
# writes build/packages/*.deb, one package per component:
#
#   kaigo-bridge          the engine, kaigo-careplan, the systemd unit, the example
#                         configurations (/usr/share/doc/kaigo-bridge/examples); its maintainer
#                         scripts (deploy/debian/kaigo-bridge/) make the system user kaigo-bridge,
#                         /etc/kaigo-bridge and /var/lib/kaigo-bridge, and enable, restart and
#                         stop the unit through deb-systemd-helper and deb-systemd-invoke
#   libkaigo-proto1.0     libkaigo_proto.so.1.0, the generated classes of the API, which the engine
#                         and every plugin link. Named after the SONAME, as Debian's policy for
#                         shared libraries asks (8.1): each API release that changes the SONAME
#                         (KAIGO_API_SOVERSION) is a new package, installable beside the old one.
#                         Its shlibs file gives the packages that link it their dependency on it;
#                         the ldconfig trigger keeps the linker cache, no maintainer script.
#   kaigo-bridge-plugins  every plugin under plugins/, root-owned 0644 in
#                         /usr/lib/kaigo-bridge/plugins
#   kaigo-bridge-sandbox  kaigo-sandbox, the local model of the platform
#   libkaigo-sdk-dev      headers, static libraries, the CMake package, the .proto files,
#                         kaigo-plugin-check
#
# Every package has its copyright file (deploy/debian/copyright), a changelog.Debian.gz made from
# the project's version, and man pages (deploy/man/) for the commands it installs; lintian finds
# no error or warning in them (tests/deb_install_test.sh), and the tags it is wrong about are
# overridden in deploy/debian/lintian-overrides and deploy/debian/<folder>/lintian-overrides, each
# with its reason.
#
# Runtime dependencies come from dpkg-shlibdeps (dpkg-dev), so they name the Debian 12 library
# packages the binaries were linked against. tests/deb_install_test.sh installs the packages into a
# scratch Debian 12 root and runs them there.
#
# The install() rules in the module folders carry no COMPONENT: they serve `cmake --install`
# (the SDK test installs from them). The rules below say what each package holds; they are
# EXCLUDE_FROM_ALL, so only CPack and `cmake --install --component NAME` run them. The
# libkaigo-sdk-dev rules mirror those of sdk/ and proto/; the package test fails when a file
# `cmake --install` installs is in no package.

# One version for the binaries (--version) and the packages: the project's.
target_compile_definitions(kaigo-bridge PRIVATE "KAIGO_VERSION=\"${PROJECT_VERSION}\"")
if(TARGET kaigo-sandbox)
  target_compile_definitions(kaigo-sandbox PRIVATE "KAIGO_VERSION=\"${PROJECT_VERSION}\"")
endif()

# kaigo_collect_plugins(OUT DIR): every plugin (a MODULE library) defined in DIR or below it.
function(kaigo_collect_plugins OUT DIR)
  set(found)
  get_property(targets DIRECTORY ${DIR} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "MODULE_LIBRARY")
      list(APPEND found ${t})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${DIR} PROPERTY SUBDIRECTORIES)
  foreach(d ${subdirs})
    kaigo_collect_plugins(below ${d})
    list(APPEND found ${below})
  endforeach()
  set(${OUT} ${found} PARENT_SCOPE)
endfunction()

set(kaigo_plugin_install_dir lib/kaigo-bridge/plugins)  # below /usr; the configurations name it
set(kaigo_doc_dir ${CMAKE_INSTALL_DATADIR}/doc/kaigo-bridge)

# kaigo-bridge
install(TARGETS kaigo-bridge kaigo-careplan RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT bridge EXCLUDE_FROM_ALL)
# Runs isolated plugins; the engine finds it at ../libexec/kaigo-bridge/ from its own binary.
install(TARGETS kaigo-plugin-host RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/kaigo-bridge
  COMPONENT bridge EXCLUDE_FROM_ALL)
# /usr/lib/systemd/system: the same directory as /lib/systemd/system on Debian 12 (merged /usr);
# a relative destination keeps `cmake --install --prefix` inside its prefix.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/kaigo-bridge.service
  DESTINATION lib/systemd/system COMPONENT bridge EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/offices/ DESTINATION ${kaigo_doc_dir}/examples
  COMPONENT bridge EXCLUDE_FROM_ALL PATTERN demo EXCLUDE)  # demo: build-tree paths only
install(FILES ${PROJECT_SOURCE_DIR}/deploy/subsidy/subsidy-rules.yaml
  DESTINATION ${kaigo_doc_dir}/examples COMPONENT bridge EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${kaigo_doc_dir}
  COMPONENT bridge EXCLUDE_FROM_ALL)  # the unit's Documentation=

# libkaigo-proto<SOVERSION>
install(TARGETS kaigo_proto LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_SKIP
  COMPONENT proto EXCLUDE_FROM_ALL)

# kaigo-bridge-plugins
kaigo_collect_plugins(kaigo_packaged_plugins ${PROJECT_SOURCE_DIR}/plugins)
install(TARGETS ${kaigo_packaged_plugins} LIBRARY DESTINATION ${kaigo_plugin_install_dir}
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT plugins EXCLUDE_FROM_ALL)

# kaigo-bridge-sandbox
if(TARGET kaigo-sandbox)
  install(TARGETS kaigo-sandbox RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT sandbox EXCLUDE_FROM_ALL)
endif()

# libkaigo-sdk-dev (mirrors the install() rules of sdk/ and proto/)
install(TARGETS kaigo_sdk kaigo_sdk_testing kaigo_sdk_yaml
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk EXCLUDE_FROM_ALL)
install(TARGETS kaigo_proto LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_ONLY
  COMPONENT sdk EXCLUDE_FROM_ALL)
install(TARGETS kaigo-plugin-check RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT sdk EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ ${KAIGO_SDK_GENERATED_INCLUDE_DIR}/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_BINARY_DIR}/proto/gen/kaigo ${PROJECT_BINARY_DIR}/proto/gen/google
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT sdk EXCLUDE_FROM_ALL FILES_MATCHING PATTERN "*.pb.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/kaigo ${PROJECT_SOURCE_DIR}/proto/google
  DESTINATION ${CMAKE_INSTALL_DATADIR}/kaigo/proto
  COMPONENT sdk EXCLUDE_FROM_ALL FILES_MATCHING PATTERN "*.proto")
install(EXPORT KaigoSDKTargets NAMESPACE KaigoSDK::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/KaigoSDK COMPONENT sdk EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_BINARY_DIR}/sdk/KaigoSDKConfig.cmake
  ${PROJECT_BINARY_DIR}/sdk/KaigoSDKConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/KaigoPlugin.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/KaigoSDK COMPONENT sdk EXCLUDE_FROM_ALL)

# CPack
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kaigo-bridge)
set(CPACK_PACKAGE_VENDOR "kaigo-bridge")
set(CPACK_PACKAGE_CONTACT
  "Seed 2efa8254 maintainers <maintainers@users.noreply.h-seed-2efa8254.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # debug information stays in the build tree
set(CPACK_COMPONENTS_ALL proto bridge plugins sandbox sdk)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # NAME_VERSION-RELEASE_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libkaigo_proto is built here, not installed on the build machine. dpkg-shlibdeps finds it in
# packaging/proto/usr/lib, a link to the built library below a DEBIAN/ directory: for a library no
# installed package holds, it reads the shlibs file of the package tree the library sits in, so
# the packages that link it depend on it as any package built against it elsewhere would.
set(kaigo_proto_package libkaigo-proto${KAIGO_API_SOVERSION})
set(kaigo_proto_tree ${PROJECT_BINARY_DIR}/packaging/proto)
file(WRITE ${kaigo_proto_tree}/DEBIAN/shlibs
  "libkaigo_proto ${KAIGO_API_SOVERSION} ${kaigo_proto_package} (>= ${PROJECT_VERSION})\n")
file(MAKE_DIRECTORY ${kaigo_proto_tree}/usr/lib)
file(CREATE_LINK ${PROJECT_BINARY_DIR}/proto/libkaigo_proto.so.${KAIGO_API_SOVERSION}
  ${kaigo_proto_tree}/usr/lib/libkaigo_proto.so.${KAIGO_API_SOVERSION} SYMBOLIC)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${kaigo_proto_tree}/usr/lib)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)  # Depends: kaigo-bridge (= VERSION-RELEASE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
  GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(CPACK_DEBIAN_PROTO_PACKAGE_NAME ${kaigo_proto_package})
set(CPACK_DEBIAN_PROTO_PACKAGE_SECTION libs)
# The linker cache follows through the ldconfig trigger, so the package has no maintainer
# script. CPack writes a postinst and a postrm calling ldconfig for a library in /usr/lib unless
# CONTROL_EXTRA names files called postinst and postrm, and adds to the package only the named
# files that exist: no-scripts/ names two that do not (the test checks the package has none).
set(CPACK_DEBIAN_PROTO_PACKAGE_CONTROL_EXTRA ${kaigo_proto_tree}/DEBIAN/shlibs
  ${PROJECT_SOURCE_DIR}/deploy/debian/libkaigo-proto/triggers
  ${kaigo_proto_tree}/no-scripts/postinst ${kaigo_proto_tree}/no-scripts/postrm)
# Descriptions: the first line is the package's synopsis, the others (at most 80 columns, as
# lintian asks) the extended description.
set(CPACK_COMPONENT_PROTO_DESCRIPTION "kaigo-bridge API library (kaigo API ${KAIGO_API_RELEASE})
The generated protobuf classes of the kaigo API, which the kaigo-bridge
engine and every plugin link. Its SONAME names the API release
(libkaigo_proto.so.${KAIGO_API_SOVERSION}); the engine refuses a plugin built
against another release.")

set(CPACK_DEBIAN_BRIDGE_PACKAGE_NAME kaigo-bridge)
# libkaigo-proto: by its shlibs file, as dpkg-shlibdeps finds it (above).
# adduser: the postinst; procps: /bin/kill, the unit's ExecReload.
set(CPACK_DEBIAN_BRIDGE_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_BRIDGE_PACKAGE_RECOMMENDS kaigo-bridge-plugins)
set(CPACK_DEBIAN_BRIDGE_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/kaigo-bridge/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/kaigo-bridge/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/kaigo-bridge/postrm)
set(CPACK_COMPONENT_BRIDGE_DESCRIPTION
  "integration engine for the Long-term Care Information Platform
Care systems call one gRPC API; the engine loads one plugin per concern
and routes every call to the plugin instance of the office it acts for.
This package holds the engine (serve, check-config, audit verify),
kaigo-careplan, the hardened systemd unit and example configurations in
/usr/share/doc/kaigo-bridge/examples.")

set(CPACK_DEBIAN_PLUGINS_PACKAGE_NAME kaigo-bridge-plugins)
set(CPACK_COMPONENT_PLUGINS_DEPENDS bridge)  # built for this engine; libkaigo-proto by shlibs
set(CPACK_DEBIAN_PLUGINS_PACKAGE_SUGGESTS pcscd)  # card_reader_pcsc
set(CPACK_COMPONENT_PLUGINS_DESCRIPTION "plugins for the kaigo-bridge integration engine
Portal registration, one-time passwords, card reader, qualification,
certification, care-plan exchange, subsidy filing and the rest of the
in-tree plugins, in /usr/lib/kaigo-bridge/plugins (root-owned), the
directory the configurations name.")

set(CPACK_DEBIAN_SANDBOX_PACKAGE_NAME kaigo-bridge-sandbox)
set(CPACK_COMPONENT_SANDBOX_DESCRIPTION "local model of the Long-term Care Information Platform
kaigo-sandbox: HTTPS with client certificates and SQLite state, for tests,
demos and plugin development against kaigo-bridge.")

# A -dev package, as Debian names the headers and the namelink of a library.
set(CPACK_DEBIAN_SDK_PACKAGE_NAME libkaigo-sdk-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
# The namelink libkaigo_proto.so points into exactly this build of the library.
set(CPACK_COMPONENT_SDK_DEPENDS proto)
# What a plugin build needs besides the SDK (see sdk/cmake/KaigoSDKConfig.cmake.in).
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS
  "cmake, protobuf-compiler, libprotobuf-dev, libabsl-dev, libyaml-dev, pkg-config")
set(CPACK_COMPONENT_SDK_DESCRIPTION "plugin SDK for the kaigo-bridge integration engine
Headers, static libraries, the CMake package KaigoSDK (kaigo_add_plugin),
the public .proto files and kaigo-plugin-check, the conformance checker.")

# Every package's documentation: /usr/share/doc/PACKAGE/copyright (Apache-2.0, LICENSE, in
# Debian's machine-readable format) and changelog.Debian.gz, man pages for the commands it
# installs, and its lintian overrides: deploy/debian/lintian-overrides (every package) and
# deploy/debian/<folder>/lintian-overrides (that package's own, when there is one).
# kaigo_gzip(SOURCE OUTPUT): OUTPUT is SOURCE compressed as Debian's policy asks: gzip -9, and -n
# (no name or time stamp inside, so a rebuild gives the same bytes).
find_program(KAIGO_GZIP gzip REQUIRED)
function(kaigo_gzip source output)
  get_filename_component(dir ${output} DIRECTORY)
  get_filename_component(name ${output} NAME_WLE)
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_COMMAND} -E copy ${source} ${dir}/${name}
    COMMAND ${KAIGO_GZIP} -9nf ${dir}/${name}
    DEPENDS ${source} VERBATIM)
  set_property(GLOBAL APPEND PROPERTY kaigo_package_docs ${output})
endfunction()

# The Debian changelog of this build: one entry, the project's version, dated when configured
# (SOURCE_DATE_EPOCH, when set, fixes the date).
string(TIMESTAMP kaigo_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(kaigo_man_dir ${PROJECT_SOURCE_DIR}/deploy/man)
# component;package;folder in deploy/debian;man pages
foreach(entry "proto;${kaigo_proto_package};libkaigo-proto;"
    "bridge;kaigo-bridge;kaigo-bridge;kaigo-bridge.8 kaigo-careplan.1"
    "plugins;kaigo-bridge-plugins;kaigo-bridge-plugins;"
    "sandbox;kaigo-bridge-sandbox;kaigo-bridge-sandbox;kaigo-sandbox.1"
    "sdk;libkaigo-sdk-dev;libkaigo-sdk-dev;kaigo-plugin-check.1")
  list(GET entry 0 component)
  list(GET entry 1 package)
  list(GET entry 2 folder)
  list(GET entry 3 pages)
  set(doc ${CMAKE_INSTALL_DATADIR}/doc/${package})
  set(out ${PROJECT_BINARY_DIR}/packaging/${package})
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright DESTINATION ${doc}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
  file(CONFIGURE OUTPUT ${out}/source/changelog.Debian CONTENT "\
${package} (${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}) bookworm; urgency=medium

  * kaigo-bridge ${PROJECT_VERSION}, packaged by CPack from its source tree
    (cmake/Packaging.cmake). The release's changes are in CHANGELOG.md of
    the source tree, installed as /usr/share/doc/kaigo-bridge/changelog.gz.

 -- ${CPACK_PACKAGE_CONTACT}  ${kaigo_changelog_date}
")
  kaigo_gzip(${out}/source/changelog.Debian ${out}/changelog.Debian.gz)
  install(FILES ${out}/changelog.Debian.gz DESTINATION ${doc}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
  separate_arguments(pages)
  foreach(page ${pages})
    string(REGEX REPLACE ".*\\." "" section ${page})
    kaigo_gzip(${kaigo_man_dir}/${page} ${out}/man/${page}.gz)
    install(FILES ${out}/man/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
      COMPONENT ${component} EXCLUDE_FROM_ALL)
  endforeach()
  set(overrides ${PROJECT_SOURCE_DIR}/deploy/debian/lintian-overrides)
  file(READ ${overrides} text)
  if(EXISTS ${PROJECT_SOURCE_DIR}/deploy/debian/${folder}/lintian-overrides)
    list(APPEND overrides ${PROJECT_SOURCE_DIR}/deploy/debian/${folder}/lintian-overrides)
    file(READ ${PROJECT_SOURCE_DIR}/deploy/debian/${folder}/lintian-overrides own)
    string(APPEND text "\n${own}")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${overrides})
  file(WRITE ${out}/lintian-overrides "${text}")
  install(FILES ${out}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
    RENAME ${package} COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()
# The release's own changelog (Debian's policy 12.7: the upstream changelog is changelog.gz).
kaigo_gzip(${PROJECT_SOURCE_DIR}/CHANGELOG.md ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/kaigo-bridge COMPONENT bridge EXCLUDE_FROM_ALL)
get_property(kaigo_package_docs GLOBAL PROPERTY kaigo_package_docs)
add_custom_target(kaigo_package_docs ALL DEPENDS ${kaigo_package_docs})

include(CPack)
