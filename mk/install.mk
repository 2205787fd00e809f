# mk/install.mk - installation, included by the top-level Makefile.
#
#   make install PREFIX=/usr/local DESTDIR=/tmp/pkg
#       programs        $(BINDIR)/hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent
#       library         $(LIBDIR)/libhotpatch.a, libhotpatch.so.X.Y.Z + the .so.X and .so links
#       header          $(INCLUDEDIR)/hotpatch.h + hotpatch_version.h
#       pkg-config      $(PKGCONFIGDIR)/hotpatch.pc (`pkg-config --cflags --libs hotpatch`)
#       systemd units   $(SYSTEMDUNITDIR)/hotpatch-publisher.service, hotpatch-edge.service
#       man pages       hotpatch(1) hotpatch-agent(1) hotpatch-publisher(8) hotpatch-edge(8)
#       completion      $(BASHCOMPDIR)/hotpatch
#       data            $(DATADIR)/migrations, examples (env files), doc
#   make uninstall PREFIX=... DESTDIR=...   removes what install put there
#
# install does not build (so `sudo make install` writes nothing into the
# build tree): run `make` first. It installs whichever programs exist in
# $(B)/bin and says which it skipped. Units, env examples and hotpatch.pc are
# templates (*.in / *.example) with @BINDIR@, @SYSCONFDIR@, @DATADIR@...
# substituted with the final paths (never DESTDIR).
#
# The man pages are generated at build time from each program's --help
# (mk/man.sh), so they are part of `make`.

PREFIX          ?= /usr/local
DESTDIR         ?=
BINDIR          ?= $(PREFIX)/bin
LIBDIR          ?= $(PREFIX)/lib
INCLUDEDIR      ?= $(PREFIX)/include
DATADIR         ?= $(PREFIX)/share/hotpatch
MANDIR          ?= $(PREFIX)/share/man
PKGCONFIGDIR    ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR     ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR      ?= /etc
SYSTEMDUNITDIR  ?= $(PREFIX)/lib/systemd/system
INSTALL         ?= install

HP_PROGRAMS     := hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent
HP_UNITS        := publisher/deploy/hotpatch-publisher.service.in edge-check/deploy/hotpatch-edge.service.in
HP_ENV_EXAMPLES := publisher/deploy/publisher.env.example edge-check/deploy/edge.env.example
HP_SUBST         = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
                       -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
                       -e 's|@VERSION@|$(HP_VERSION)|g'
HP_SO_FILES     := libhotpatch.so.$(HP_VERSION) libhotpatch.so.$(HP_SOVERSION) libhotpatch.so

# Man pages, generated from --help (mk/man.sh): $(B)/man/PROGRAM.SECTION.
HP_MAN_SUMMARY_hotpatch           := build, sign and publish over-the-air releases
HP_MAN_SUMMARY_hotpatch-agent     := check, download, verify and install updates on a device
HP_MAN_SUMMARY_hotpatch-publisher := the HotPatch admin API and manifest signer
HP_MAN_SUMMARY_hotpatch-edge      := the HotPatch device-facing update-check server
HP_MAN_PAGES := $(B)/man/hotpatch.1 $(B)/man/hotpatch-agent.1 $(B)/man/hotpatch-publisher.8 $(B)/man/hotpatch-edge.8

$(HP_MAN_PAGES): $(B)/man/%: mk/man.sh
	@mkdir -p $(dir $@)
	bash mk/man.sh $(B)/bin/$(basename $*) $(subst .,,$(suffix $*)) "$(HP_MAN_SUMMARY_$(basename $*))" >$@.tmp && mv $@.tmp $@

# Each page also depends on its program.
$(B)/man/hotpatch.1: $(B)/bin/hotpatch
$(B)/man/hotpatch-agent.1: $(B)/bin/hotpatch-agent
$(B)/man/hotpatch-publisher.8: $(B)/bin/hotpatch-publisher
$(B)/man/hotpatch-edge.8: $(B)/bin/hotpatch-edge

ALL_TARGETS += $(HP_MAN_PAGES)

install:
	@set -e; \
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" \
	    "$(DESTDIR)$(PKGCONFIGDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(BASHCOMPDIR)" \
	    "$(DESTDIR)$(DATADIR)/migrations" "$(DESTDIR)$(DATADIR)/examples" "$(DESTDIR)$(DATADIR)/doc" \
	    "$(DESTDIR)$(SYSTEMDUNITDIR)"; \
	for p in $(HP_PROGRAMS); do \
	    if [ -x "$(B)/bin/$$p" ]; then $(INSTALL) -m 0755 "$(B)/bin/$$p" "$(DESTDIR)$(BINDIR)/$$p"; \
	    else echo "install: skipping $$p (not built: $(B)/bin/$$p)"; fi; \
	done; \
	if [ -f "$(B)/lib/libhotpatch.a" ]; then $(INSTALL) -m 0644 "$(B)/lib/libhotpatch.a" "$(DESTDIR)$(LIBDIR)/libhotpatch.a"; \
	else echo "install: skipping libhotpatch.a (not built)"; fi; \
	if [ -f "$(B)/lib/libhotpatch.so.$(HP_VERSION)" ]; then \
	    $(INSTALL) -m 0755 "$(B)/lib/libhotpatch.so.$(HP_VERSION)" "$(DESTDIR)$(LIBDIR)/libhotpatch.so.$(HP_VERSION)"; \
	    ln -sfn "libhotpatch.so.$(HP_VERSION)" "$(DESTDIR)$(LIBDIR)/libhotpatch.so.$(HP_SOVERSION)"; \
	    ln -sfn "libhotpatch.so.$(HP_SOVERSION)" "$(DESTDIR)$(LIBDIR)/libhotpatch.so"; \
	else echo "install: skipping libhotpatch.so (not built)"; fi; \
	$(INSTALL) -m 0644 sdk/include/hotpatch.h "$(DESTDIR)$(INCLUDEDIR)/hotpatch.h"; \
	if [ -f "$(HP_VERSION_H)" ]; then $(INSTALL) -m 0644 "$(HP_VERSION_H)" "$(DESTDIR)$(INCLUDEDIR)/hotpatch_version.h"; \
	else echo "install: skipping hotpatch_version.h (not built: run make)"; fi; \
	$(HP_SUBST) sdk/hotpatch.pc.in >"$(DESTDIR)$(PKGCONFIGDIR)/hotpatch.pc"; chmod 0644 "$(DESTDIR)$(PKGCONFIGDIR)/hotpatch.pc"; \
	for m in $(HP_MAN_PAGES); do \
	    s=$${m##*.}; \
	    if [ -f "$$m" ]; then $(INSTALL) -m 0644 "$$m" "$(DESTDIR)$(MANDIR)/man$$s/"; \
	    else echo "install: skipping $$m (not built)"; fi; \
	done; \
	$(INSTALL) -m 0644 cli/hotpatch.bash "$(DESTDIR)$(BASHCOMPDIR)/hotpatch"; \
	for f in publisher/migrations/*.sql; do if [ -e "$$f" ]; then $(INSTALL) -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/migrations/"; fi; done; \
	for u in $(HP_UNITS); do \
	    n=$$(basename "$$u" .in); \
	    $(HP_SUBST) "$$u" >"$(DESTDIR)$(SYSTEMDUNITDIR)/$$n.tmp"; \
	    chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$$n.tmp"; mv -f "$(DESTDIR)$(SYSTEMDUNITDIR)/$$n.tmp" "$(DESTDIR)$(SYSTEMDUNITDIR)/$$n"; \
	done; \
	for e in $(HP_ENV_EXAMPLES); do \
	    n=$$(basename "$$e" .example); \
	    $(HP_SUBST) "$$e" >"$(DESTDIR)$(DATADIR)/examples/$$n"; chmod 0644 "$(DESTDIR)$(DATADIR)/examples/$$n"; \
	done; \
	for d in docs/design.md docs/operations.md docs/interfaces.md LICENSE CHANGELOG.md; do \
	    if [ -f "$$d" ]; then $(INSTALL) -m 0644 "$$d" "$(DESTDIR)$(DATADIR)/doc/"; fi; \
	done; \
	echo "install: done under $(DESTDIR)$(PREFIX) (units in $(SYSTEMDUNITDIR); configure $(SYSCONFDIR)/hotpatch/*.env from $(DATADIR)/examples)"

uninstall:
	rm -f $(addprefix "$(DESTDIR)$(BINDIR)/,$(addsuffix ",$(HP_PROGRAMS)))
	rm -f "$(DESTDIR)$(LIBDIR)/libhotpatch.a" $(addprefix "$(DESTDIR)$(LIBDIR)/,$(addsuffix ",$(HP_SO_FILES)))
	rm -f "$(DESTDIR)$(INCLUDEDIR)/hotpatch.h" "$(DESTDIR)$(INCLUDEDIR)/hotpatch_version.h" "$(DESTDIR)$(PKGCONFIGDIR)/hotpatch.pc"
	rm -f $(foreach m,$(HP_MAN_PAGES),"$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))")
	rm -f "$(DESTDIR)$(BASHCOMPDIR)/hotpatch"
	rm -f "$(DESTDIR)$(SYSTEMDUNITDIR)/hotpatch-publisher.service" "$(DESTDIR)$(SYSTEMDUNITDIR)/hotpatch-edge.service"
	rm -rf "$(DESTDIR)$(DATADIR)/migrations" "$(DESTDIR)$(DATADIR)/examples" "$(DESTDIR)$(DATADIR)/doc"
	-rmdir "$(DESTDIR)$(DATADIR)" 2>/dev/null

.PHONY: install uninstall
