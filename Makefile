# The main job: build the library and run the C host example against it.
CC ?= cc
CFLAGS ?= -std=c99 -Wall -Wextra -Werror -pedantic -O2
LIBDIR := target/release

.PHONY: demo lib bench clean

demo: examples_c/build/host
	examples_c/build/host examples_c/build/Access.log

lib:
	cargo build --release --lib

examples_c/build/host: examples_c/host.c include/sessmgr.h lib
	mkdir -p examples_c/build
	$(CC) $(CFLAGS) -Iinclude examples_c/host.c -o $@ -L$(LIBDIR) -Wl,-rpath,'$$ORIGIN/../../$(LIBDIR)' -lsessmgr

# The C request-mix benchmark (1 and 2 threads) at 1,000, 100,000 and 1,000,000 sessions.
bench: examples_c/build/request_mix
	for n in 1000 100000 1000000; do examples_c/build/request_mix $$n 3; done

examples_c/build/request_mix: benches/c/request_mix.c include/sessmgr.h lib
	mkdir -p examples_c/build
	$(CC) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude benches/c/request_mix.c -o $@ -L$(LIBDIR) -Wl,-rpath,'$$ORIGIN/../../$(LIBDIR)' -lsessmgr -lpthread

clean:
	rm -rf examples_c/build
