# The main job: build the library and run the C host example against it.
CC ?= cc
CFLAGS ?= -std=c99 -Wall -Wextra -Werror -pedantic -O2
LIBDIR := target/release

.PHONY: demo lib clean

demo: examples_c/build/host
	examples_c/build/host

lib:
	cargo build --release --lib

examples_c/build/host: examples_c/host.c include/sessmgr.h lib
	mkdir -p examples_c/build
	$(CC) $(CFLAGS) -Iinclude examples_c/host.c -o $@ -L$(LIBDIR) -Wl,-rpath,'$$ORIGIN/../../$(LIBDIR)' -lsessmgr

clean:
	rm -rf examples_c/build
