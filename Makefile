# startlijn - PostgreSQL extensions for sports registration and ticketing.
#
#   make run    install what is missing, build, start a dev cluster with demo data
#   make test   install what is missing, build, run every suite on a throwaway cluster
#   make stop   stop the dev cluster started by `make run`

PG_CONFIG ?= $(shell command -v pg_config 2>/dev/null || echo /usr/lib/postgresql/15/bin/pg_config)

MODULE_big = startlijn
COMMON_SRCS = $(sort $(wildcard src/common/*.c))
PG_SRCS = $(sort $(wildcard src/core/*.c) $(filter-out src/common/%,$(wildcard src/*/*.c)))
OBJS = $(COMMON_SRCS:.c=.o) $(PG_SRCS:.c=.o)

MODULEDIR = extension
EXTENSIONS = startlijn startlijn_audit startlijn_capacity startlijn_payments startlijn_retention startlijn_tokens

# The SQL of each extension lives in extension/<ext>/, one file per domain.
# make concatenates the files, in this order, into the install script
# extension/<ext>--<version>.sql (<version>: default_version of the .control
# file). Upgrade scripts (extension/<ext>--<from>--<to>.sql) exist only
# between tagged releases (docs/architecture.md, "Releases and upgrades").
startlijn_SQL = auth base tenancy checks limits organizations members profiles \
                audit_api payments_api retention_api capacity_api catalog addons catalog_api \
                orders checkout_limits checkout cancellations orders_api checkout_retention restore privileges
startlijn_audit_SQL = tables guard recording sealing personal reading scheduling restore privileges
startlijn_capacity_SQL = tables helpers holds pools waitlist sweep restore privileges
startlijn_payments_SQL = tables status ledger accounts payments listeners webhooks refunds relay reading \
                         idempotency restore privileges
startlijn_retention_SQL = tables actor periods labels pseudonyms holds erasure notifications job privileges
startlijn_tokens_SQL = tables tokens codes housekeeping restore privileges

ext_version = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" extension/$(1).control)
ext_script = extension/$(1)--$(call ext_version,$(1)).sql
ext_sources = $(addprefix extension/$(1)/,$(addsuffix .sql,$($(1)_SQL)))

DATA = $(sort $(wildcard extension/*.control) $(wildcard extension/*--*--*.sql))
DATA_built = $(foreach e,$(EXTENSIONS),$(call ext_script,$(e)))

SHLIB_LINK += -lsodium
PG_CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
PG_CPPFLAGS += -Isrc

# PGXS's own tests: `make installcheck` runs sql/ (pg_regress, in a database
# startlijn_regress it creates) and test/isolation/specs/ (pg_isolation_regress,
# in startlijn_isolation: the extensions, test/helpers/pgrst.sql and the demo
# data, prepared by installcheck-db) against a running server that has the
# extensions installed (libpq's PGHOST, PGPORT, PGUSER); make test runs it on
# its throwaway cluster
REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --use-existing
REGRESS_PREP = installcheck-db

EXTRA_CLEAN = $(DATA_built) test/unit/run_unit test/fuzz/*.bin test/results

.PHONY: run stop test test-reliability test-storm deps unit fuzz bench install-scripts installcheck-db

# PGXS targets (all, install, clean) only when pg_config exists: `make run`
# and `make test` on a machine without PostgreSQL install it first.
ifneq ($(wildcard $(PG_CONFIG)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
# no LLVM bitcode: JIT inlining of these functions is not worth a clang dependency
override with_llvm := no
include $(PGXS)
endif

CONTRIB_TESTDB = startlijn_regress
ISOLATION_TESTDB = startlijn_isolation

# the isolation specs' database: every extension, the PostgREST call helper, the demo data
# (test/helpers/test_db.sql, as make test's databases)
installcheck-db:
ifdef ISOLATION
	@PGOPTIONS="-c client_min_messages=warning" $(bindir)/psql -X -q -v ON_ERROR_STOP=1 -d postgres \
	  -c "DROP DATABASE IF EXISTS $(ISOLATION_TESTDB)" -c "CREATE DATABASE $(ISOLATION_TESTDB)"
	@PGOPTIONS="-c client_min_messages=warning" $(bindir)/psql -X -q -v ON_ERROR_STOP=1 -d $(ISOLATION_TESTDB) \
	  -f test/helpers/test_db.sql > /dev/null
endif

# the checks from outside the database (test/outside/, docs/architecture.md
# "Tests") against a running server: libpq's PGHOST, PGPORT, PGUSER (without
# PGHOST the dev server of make run); OUTSIDE="as_user ..." runs only these
.PHONY: installcheck-outside
installcheck-outside:
	@PG_BIN=$(bindir) bash test/outside/run.sh $(OUTSIDE)

# every object depends on every header: PGXS tracks no header dependencies,
# and a changed struct compiled into only some objects corrupts memory
$(OBJS): $(wildcard src/*/*.h)

# extension/<ext>--<version>.sql from extension/<ext>/*.sql; a file of the
# folder missing from <ext>_SQL stops the build
define install_script_rule
$(call ext_script,$(1)): $(call ext_sources,$(1)) extension/$(1).control Makefile
	@for f in extension/$(1)/*.sql; do case " $(call ext_sources,$(1)) " in *" $$$$f "*) ;; \
	  *) echo "$$$$f is not listed in $(1)_SQL (Makefile)" >&2; exit 1;; esac; done
	{ echo "-- generated by make from extension/$(1)/: $($(1)_SQL); edit those files"; echo; \
	  cat $(call ext_sources,$(1)); } > $$@
endef
$(foreach e,$(EXTENSIONS),$(eval $(call install_script_rule,$(e))))

# only the install scripts (the upgrade suite builds those of the previous release)
install-scripts: $(DATA_built)

deps:
	@bash test/tools/deps.sh

run: deps
	@bash test/tools/dev.sh start

stop:
	@bash test/tools/dev.sh stop

test: deps
	@bash test/tools/run-tests.sh

# longer than make test: each libFuzzer target for FUZZ_SECONDS (default 60),
# the full bad-input matrix over every api function, and crash and storm
# with a 600 s storm (STORM_SECONDS) (docs/reliability.md)
test-reliability: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS_SET) STORM_SECONDS=$(STORM_SECONDS) bash test/tools/reliability.sh

# crash and storm alone, with a long storm (docs/reliability.md, "Crash and storm")
STORM_SECONDS ?= 600
test-storm: deps
	@STORM_SECONDS=$(STORM_SECONDS) bash test/tools/storm.sh

# pgbench workloads beside baselines measured in the same run (not a test)
bench: deps
	@bash test/tools/bench.sh

# C unit tests of src/common (pure C, no server needed)
UNIT_CFLAGS = -std=c11 -O1 -g -Wall -Wextra -Werror -Isrc -Isrc/common
unit: test/unit/run_unit
	@./test/unit/run_unit docs/errors.md

test/unit/run_unit: $(wildcard test/unit/*.c test/unit/*.h) $(COMMON_SRCS) $(wildcard src/common/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(wildcard test/unit/*.c) $(COMMON_SRCS) -lsodium

# libFuzzer targets (clang); FUZZ_SECONDS per target (make fuzz: 20,
# make test-reliability: 60); FUZZ_SECONDS_SET: the value given, if any
FUZZ_SECONDS_SET := $(FUZZ_SECONDS)
FUZZ_SECONDS ?= 20
fuzz:
	@bash test/tools/fuzz.sh $(FUZZ_SECONDS)
