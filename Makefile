# natsec: the two commands a new machine needs are `make demo` and `make test`.
JOBS ?= $(shell nproc)
BUILD_GCC := build/gcc
BUILD_SAN := build/clang-san
FUZZ_SECONDS ?= 20

.PHONY: all deps build build-gcc build-san test test-unit test-net test-interop test-fuzz demo bench format clean

all: build

deps:
	./scripts/deps.sh

build-gcc: deps
	cmake -S . -B $(BUILD_GCC) -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD_GCC) -j $(JOBS)

# clang with ASan + UBSan; the same build carries the libFuzzer targets.
build-san: deps
	cmake -S . -B $(BUILD_SAN) -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DNATSEC_SANITIZE=ON -DNATSEC_FUZZ=ON -DNATSEC_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)

build: build-gcc build-san

# All of CTest: unit, net and interop on the gcc build; unit (sanitized) and
# fuzz on the clang build.
test: build
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -L fuzz
	cd $(BUILD_GCC) && ctest --output-on-failure -L 'net|interop'

test-unit: build
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -L unit

test-net: build-gcc
	cd $(BUILD_GCC) && ctest --output-on-failure -L net

test-interop: build-gcc
	cd $(BUILD_GCC) && ctest --output-on-failure -L interop

test-fuzz: build-san
	cd $(BUILD_SAN) && ctest --output-on-failure -L fuzz

demo: build-gcc
	./scripts/demo.sh

bench: deps
	./bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
