#!/usr/bin/env bash
# `make test`: the spoofed flood in brief (tests/bench/flood.sh --smoke:
# 300 ms per source count), failing when a promise breaks — every
# legitimate probe answered, the excess within the global budget, memory
# flat, answers the sizes the scenario says. The full measurement is
# `make flood`.
exec bash "$(dirname "$0")/flood.sh" --smoke --check "$@"
