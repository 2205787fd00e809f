# edge-check/deploy/deploy.mk - installation and packaging rules, included
# by the top-level Makefile.
#
#   make install PREFIX=/usr DESTDIR=/tmp/pkg   programs, library, header,
#                                               systemd units, migrations, examples
#   make uninstall PREFIX=...                   removes what install put there
#   make lambda-zip                             $(B)/lambda/hotpatch-edge-lambda.zip
#
# install does not build: run `make` first. It installs whichever programs
# exist in $(B)/bin (hotpatch, hotpatch-publisher, hotpatch-edge,
# hotpatch-agent) and says which it skipped. Units and env examples are
# templates (*.in / *.example) with @BINDIR@, @SYSCONFDIR@, @DATADIR@.

PREFIX          ?= /usr/local
DESTDIR         ?=
BINDIR          ?= $(PREFIX)/bin
LIBDIR          ?= $(PREFIX)/lib
INCLUDEDIR      ?= $(PREFIX)/include
DATADIR         ?= $(PREFIX)/share/hotpatch
SYSCONFDIR      ?= /etc
SYSTEMDUNITDIR  ?= $(PREFIX)/lib/systemd/system
INSTALL         ?= install

HP_PROGRAMS     := hotpatch hotpatch-publisher hotpatch-edge hotpatch-agent
HP_UNITS        := publisher/deploy/hotpatch-publisher.service.in edge-check/deploy/hotpatch-edge.service.in
HP_ENV_EXAMPLES := publisher/deploy/publisher.env.example edge-check/deploy/edge.env.example
HP_SUBST         = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g'

install:
	@set -e; \
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" \
	    "$(DESTDIR)$(DATADIR)/migrations" "$(DESTDIR)$(DATADIR)/examples" "$(DESTDIR)$(DATADIR)/doc" \
	    "$(DESTDIR)$(SYSTEMDUNITDIR)"; \
	for p in $(HP_PROGRAMS); do \
	    if [ -x "$(B)/bin/$$p" ]; then $(INSTALL) -m 0755 "$(B)/bin/$$p" "$(DESTDIR)$(BINDIR)/$$p"; \
	    else echo "install: skipping $$p (not built: $(B)/bin/$$p)"; fi; \
	done; \
	if [ -f "$(B)/lib/libhotpatch.a" ]; then $(INSTALL) -m 0644 "$(B)/lib/libhotpatch.a" "$(DESTDIR)$(LIBDIR)/libhotpatch.a"; \
	else echo "install: skipping libhotpatch.a (not built)"; fi; \
	if [ -f "$(B)/lib/libhotpatch.so" ]; then $(INSTALL) -m 0755 "$(B)/lib/libhotpatch.so" "$(DESTDIR)$(LIBDIR)/libhotpatch.so"; \
	else echo "install: skipping libhotpatch.so (not built)"; fi; \
	$(INSTALL) -m 0644 sdk/include/hotpatch.h "$(DESTDIR)$(INCLUDEDIR)/hotpatch.h"; \
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
	for d in docs/operations.md docs/interfaces.md; do if [ -f "$$d" ]; then $(INSTALL) -m 0644 "$$d" "$(DESTDIR)$(DATADIR)/doc/"; fi; done; \
	echo "install: done under $(DESTDIR)$(PREFIX) (units in $(SYSTEMDUNITDIR); configure $(SYSCONFDIR)/hotpatch/*.env from $(DATADIR)/examples)"

uninstall:
	rm -f $(addprefix "$(DESTDIR)$(BINDIR)/,$(addsuffix ",$(HP_PROGRAMS)))
	rm -f "$(DESTDIR)$(LIBDIR)/libhotpatch.a" "$(DESTDIR)$(LIBDIR)/libhotpatch.so" "$(DESTDIR)$(INCLUDEDIR)/hotpatch.h"
	rm -f "$(DESTDIR)$(SYSTEMDUNITDIR)/hotpatch-publisher.service" "$(DESTDIR)$(SYSTEMDUNITDIR)/hotpatch-edge.service"
	rm -rf "$(DESTDIR)$(DATADIR)/migrations" "$(DESTDIR)$(DATADIR)/examples" "$(DESTDIR)$(DATADIR)/doc"
	-rmdir "$(DESTDIR)$(DATADIR)" 2>/dev/null

LAMBDA_ZIP := $(B)/lambda/hotpatch-edge-lambda.zip

lambda-zip: $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(B)/bin/hotpatch-edge edge-check/deploy/lambda-zip.sh edge-check/deploy/bootstrap.in
	bash edge-check/deploy/lambda-zip.sh $(B)/bin/hotpatch-edge $@

.PHONY: install uninstall lambda-zip
