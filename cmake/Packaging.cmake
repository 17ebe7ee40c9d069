# Debian 12 packages, built by CPack from this build tree:
#
#   cmake --build build --target package      # or: cd build && cpack -G DEB
#
# writes build/packages/*.deb, one package per component:
#
#   kaigo-bridge          the engine, kaigo-careplan, the systemd unit, the example
#                         configurations (/usr/share/doc/kaigo-bridge/examples); its postinst
#                         (deploy/debian/kaigo-bridge/) makes the system user kaigo-bridge,
#                         /etc/kaigo-bridge and /var/lib/kaigo-bridge
#   libkaigo-proto1.0     libkaigo_proto.so.1.0, the generated classes of the API, which the engine
#                         and every plugin link. Named after the SONAME, as Debian's policy for
#                         shared libraries asks (8.1): each API release that changes the SONAME
#                         (KAIGO_API_SOVERSION) is a new package, installable beside the old one.
#   kaigo-bridge-plugins  every plugin under plugins/, root-owned 0644 in
#                         /usr/lib/kaigo-bridge/plugins
#   kaigo-bridge-sandbox  kaigo-sandbox, the local model of the platform
#   kaigo-bridge-sdk      headers, static libraries, the CMake package, the .proto files,
#                         kaigo-plugin-check
#
# Runtime dependencies come from dpkg-shlibdeps (dpkg-dev), so they name the Debian 12 library
# packages the binaries were linked against. tests/deb_install_test.sh installs the packages into a
# scratch Debian 12 root and runs them there.
#
# The install() rules in the module folders carry no COMPONENT: they serve `cmake --install`
# (the SDK test installs from them). The rules below say what each package holds; they are
# EXCLUDE_FROM_ALL, so only CPack and `cmake --install --component NAME` run them. The
# kaigo-bridge-sdk rules mirror those of sdk/ and proto/; the package test fails when a file
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

# kaigo-bridge-sdk (mirrors the install() rules of sdk/ and proto/)
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

# Every package's /usr/share/doc/<package>/copyright (Apache-2.0, LICENSE).
foreach(pair "proto;libkaigo-proto${KAIGO_API_SOVERSION}" "bridge;kaigo-bridge"
    "plugins;kaigo-bridge-plugins" "sandbox;kaigo-bridge-sandbox" "sdk;kaigo-bridge-sdk")
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

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
# libkaigo_proto is built here, not installed on the build machine: dpkg-shlibdeps finds it in
# the build tree and, finding no package for it, leaves it to the component dependencies below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/proto)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)  # Depends: kaigo-bridge (= VERSION-RELEASE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
  GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(kaigo_proto_package libkaigo-proto${KAIGO_API_SOVERSION})
set(CPACK_DEBIAN_PROTO_PACKAGE_NAME ${kaigo_proto_package})
set(CPACK_DEBIAN_PROTO_PACKAGE_SECTION libs)
# dpkg-shlibdeps of a package built elsewhere against this library finds its package here.
file(WRITE ${PROJECT_BINARY_DIR}/packaging/proto/shlibs
  "libkaigo_proto ${KAIGO_API_SOVERSION} ${kaigo_proto_package} (>= ${PROJECT_VERSION})\n")
# The linker cache through the ldconfig trigger; the scripts keep CPack from calling ldconfig.
set(CPACK_DEBIAN_PROTO_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/packaging/proto/shlibs
  ${PROJECT_SOURCE_DIR}/deploy/debian/libkaigo-proto/triggers
  ${PROJECT_SOURCE_DIR}/deploy/debian/libkaigo-proto/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/libkaigo-proto/postrm)
set(CPACK_COMPONENT_PROTO_DESCRIPTION "kaigo-bridge API library (kaigo API ${KAIGO_API_RELEASE})
The generated protobuf classes of the kaigo API, which the kaigo-bridge
engine and every plugin link. Its SONAME names the API release
(libkaigo_proto.so.${KAIGO_API_SOVERSION}); the engine refuses a plugin built
against another release.")

set(CPACK_DEBIAN_BRIDGE_PACKAGE_NAME kaigo-bridge)
set(CPACK_COMPONENT_BRIDGE_DEPENDS proto)
# adduser: the postinst; procps: /bin/kill, the unit's ExecReload.
set(CPACK_DEBIAN_BRIDGE_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_BRIDGE_PACKAGE_RECOMMENDS kaigo-bridge-plugins)
set(CPACK_DEBIAN_BRIDGE_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/kaigo-bridge/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/kaigo-bridge/prerm)
# Descriptions: the first line is the package's synopsis.
set(CPACK_COMPONENT_BRIDGE_DESCRIPTION
  "integration engine for the Long-term Care Information Platform
Care systems call one gRPC API; the engine loads one plugin per concern and routes every call
to the plugin instance of the office it acts for. The engine (serve, check-config, audit
verify), kaigo-careplan, the hardened systemd unit and example configurations in
/usr/share/doc/kaigo-bridge/examples.")

set(CPACK_DEBIAN_PLUGINS_PACKAGE_NAME kaigo-bridge-plugins)
set(CPACK_COMPONENT_PLUGINS_DEPENDS bridge proto)
set(CPACK_DEBIAN_PLUGINS_PACKAGE_SUGGESTS pcscd)  # card_reader_pcsc
set(CPACK_COMPONENT_PLUGINS_DESCRIPTION "kaigo-bridge plugins
Portal registration, one-time passwords, card reader, qualification, certification,
care-plan exchange, subsidy filing and the rest of the in-tree plugins, in
/usr/lib/kaigo-bridge/plugins (root-owned), the directory the configurations name.")

set(CPACK_DEBIAN_SANDBOX_PACKAGE_NAME kaigo-bridge-sandbox)
set(CPACK_COMPONENT_SANDBOX_DESCRIPTION "local model of the Long-term Care Information Platform
kaigo-sandbox: HTTPS with client certificates and SQLite state, for tests, demos and plugin
development against kaigo-bridge.")

set(CPACK_DEBIAN_SDK_PACKAGE_NAME kaigo-bridge-sdk)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_SDK_DEPENDS proto)  # the namelink libkaigo_proto.so
# What a plugin build needs besides the SDK (see sdk/cmake/KaigoSDKConfig.cmake.in).
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS
  "cmake, protobuf-compiler, libprotobuf-dev, libabsl-dev, libyaml-dev, pkg-config")
set(CPACK_COMPONENT_SDK_DESCRIPTION "kaigo-bridge plugin SDK
Headers, static libraries, the CMake package KaigoSDK (kaigo_add_plugin), the public .proto
files and kaigo-plugin-check, the conformance checker.")

include(CPack)
