.PHONY: setup run test lint typecheck bench-retrieval
setup:
	scripts/setup.sh
run:
	scripts/run.sh
test:
	scripts/test.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
typecheck:
	scripts/typecheck.sh
bench-retrieval:
	.venv/bin/python bench/bench_retrieval.py
