# mk/run.mk - the machine and the local stack.
#
#   make deps            install the Debian packages (mk/deps.sh; idempotent)
#   make run             deps, build, then mk/stack.sh up: Postgres, publisher,
#                        edge and an nginx CDN on loopback, a sample release
#                        published with the CLI and installed by one device
#   make stop [CLEAN=1]  mk/stack.sh down (CLEAN=1 also deletes var/)

deps:
	@bash mk/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@HP_BUILD=$(B) bash mk/stack.sh up

stop:
	@HP_BUILD=$(B) bash mk/stack.sh down $(if $(CLEAN),--clean)

.PHONY: deps run stop
