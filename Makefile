# natsec: the two commands a new machine needs are `make demo` and `make test`.
JOBS ?= $(shell nproc)
# Net and interop scripts mostly wait on timers and pings, so more of them
# than cores run at once; those marked "# ctest: serial" run alone.
NET_JOBS ?= 3
BUILD_GCC := build/gcc
BUILD_SAN := build/clang-san
BUILD_TSAN := build/clang-tsan
FUZZ_SECONDS ?= 20

.PHONY: all deps build build-gcc build-san build-tsan test test-unit test-net test-interop test-fuzz demo bench deb format clean

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

# clang with ThreadSanitizer: natsecd (its outbound worker thread) and the
# tools test_tx_thread_tsan (label net) runs it with.
build-tsan: deps
	cmake -S . -B $(BUILD_TSAN) -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNATSEC_TSAN=ON >/dev/null
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target natsecd natsecctl tcpxfer udpburst

build: build-gcc build-san

# All of CTest: unit, net and interop on the gcc build; unit (sanitized) and
# fuzz on the clang build; the net tests include test_tx_thread_tsan, which
# runs the ThreadSanitizer build.
test: build build-tsan
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -L fuzz
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(NET_JOBS) -L 'net|interop'

test-unit: build
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -L unit

test-net: build-gcc build-tsan
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(NET_JOBS) -L net

test-interop: build-gcc
	cd $(BUILD_GCC) && ctest --output-on-failure -j $(NET_JOBS) -L interop

test-fuzz: build-san
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -L fuzz

demo: build-gcc
	./scripts/demo.sh

bench: deps
	./bench/run.sh

# natsec_<VERSION>_<arch>.deb in build/deb (debian/, dpkg-buildpackage).
deb: deps
	./scripts/mkdeb.sh build/deb

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
