# mk/version.mk - the release version. The VERSION file at the top of the
# tree is its only source: the programs' --version, HP_VERSION_STRING in
# hotpatch.h, the shared library's file name and SONAME, hotpatch.pc and the
# man pages all read it through here. Bump it (and CHANGELOG.md) to release.
#
# sdk/include/hotpatch_version.h is generated from it (not tracked by git;
# the same for every build directory), next to hotpatch.h which includes it,
# so anything compiled with -Isdk/include after `make` sees one version;
# `make install` installs both headers.

HP_VERSION := $(shell cat VERSION)
ifeq ($(shell echo '$(HP_VERSION)' | grep -Ex '[0-9]+\.[0-9]+\.[0-9]+'),)
$(error VERSION must hold MAJOR.MINOR.PATCH, not '$(HP_VERSION)')
endif
HP_VERSION_MAJOR := $(word 1,$(subst ., ,$(HP_VERSION)))
HP_VERSION_MINOR := $(word 2,$(subst ., ,$(HP_VERSION)))
HP_VERSION_PATCH := $(word 3,$(subst ., ,$(HP_VERSION)))
# The SONAME's number: bump MAJOR on any ABI break of libhotpatch.
HP_SOVERSION := $(HP_VERSION_MAJOR)

HP_VERSION_H := sdk/include/hotpatch_version.h
GEN_HEADERS  += $(HP_VERSION_H)

$(HP_VERSION_H): VERSION mk/version.mk
	@mkdir -p $(dir $@)
	@printf '%s\n' \
	    '/* Generated from the VERSION file by mk/version.mk: do not edit. */' \
	    '#ifndef HOTPATCH_VERSION_H' '#define HOTPATCH_VERSION_H' \
	    '/** Version of this library, "MAJOR.MINOR.PATCH". */' \
	    '#define HP_VERSION_STRING "$(HP_VERSION)"' \
	    '#define HP_VERSION_MAJOR $(HP_VERSION_MAJOR)' \
	    '#define HP_VERSION_MINOR $(HP_VERSION_MINOR)' \
	    '#define HP_VERSION_PATCH $(HP_VERSION_PATCH)' \
	    '#endif' >$@.$$$$.tmp && mv -f $@.$$$$.tmp $@

CLEAN_EXTRA += $(HP_VERSION_H)
