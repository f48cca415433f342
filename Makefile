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
DATA = $(sort $(wildcard extension/*.control) $(wildcard extension/*--*.sql))

SHLIB_LINK += -lsodium
PG_CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
PG_CPPFLAGS += -Isrc

EXTRA_CLEAN = test/unit/run_unit test/fuzz/*.bin test/results

.PHONY: run stop test deps unit fuzz bench

# PGXS targets (all, install, clean) only when pg_config exists: `make run`
# and `make test` on a machine without PostgreSQL install it first.
ifneq ($(wildcard $(PG_CONFIG)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
# no LLVM bitcode: JIT inlining of these functions is not worth a clang dependency
override with_llvm := no
include $(PGXS)
endif

# every object depends on every header: PGXS tracks no header dependencies,
# and a changed struct compiled into only some objects corrupts memory
$(OBJS): $(wildcard src/*/*.h)

deps:
	@bash test/tools/deps.sh

run: deps
	@bash test/tools/dev.sh start

stop:
	@bash test/tools/dev.sh stop

test: deps
	@bash test/tools/run-tests.sh

# pgbench workloads beside baselines measured in the same run (not a test)
bench: deps
	@bash test/tools/bench.sh

# C unit tests of src/common (pure C, no server needed)
UNIT_CFLAGS = -std=c11 -O1 -g -Wall -Wextra -Werror -Isrc -Isrc/common
unit: test/unit/run_unit
	@./test/unit/run_unit docs/errors.md

test/unit/run_unit: $(wildcard test/unit/*.c test/unit/*.h) $(COMMON_SRCS) $(wildcard src/common/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(wildcard test/unit/*.c) $(COMMON_SRCS) -lsodium

# libFuzzer targets (clang); FUZZ_SECONDS per target
FUZZ_SECONDS ?= 20
fuzz:
	@bash test/tools/fuzz.sh $(FUZZ_SECONDS)
