# The main job (make demo), the example HTTP host with its admin page (make serve, PORT=8080),
# the benchmark (make bench), and installing the library like any C library
# (make install PREFIX=/usr/local).
CC ?= cc
CFLAGS ?= -std=c99 -Wall -Wextra -Werror -pedantic -O2
LIBDIR := target/release

PREFIX ?= /usr/local
DESTDIR ?=
# Where install-files takes the built libraries from.
BUILD ?= $(LIBDIR)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
SONAME := libsessmgr.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
INSTALL_LIB := $(DESTDIR)$(PREFIX)/lib
INSTALL_INCLUDE := $(DESTDIR)$(PREFIX)/include

.PHONY: demo serve lib bench install install-files uninstall clean

demo: examples_c/build/host
	examples_c/build/host examples_c/build/Access.log

# A real HTTP host on http://127.0.0.1:$(PORT)/ (libmicrohttpd; Debian: libmicrohttpd-dev
# libcrypt-dev pkg-config), its admin page at /admin. Stop it with Ctrl-C.
PORT ?= 8080
HTTP_HOST_SOURCES := $(wildcard examples_c/http_host/*.c examples_c/http_host/*.h)

serve: examples_c/build/http_host
	examples_c/build/http_host $(PORT) --data examples_c/http_host --log examples_c/build/http_host-Access.log

examples_c/build/http_host: $(HTTP_HOST_SOURCES) include/sessmgr.h lib
	mkdir -p examples_c/build
	$(CC) $(CFLAGS) -Iinclude $$(pkg-config --cflags libmicrohttpd) $(filter %.c,$(HTTP_HOST_SOURCES)) -o $@ \
	    -L$(LIBDIR) -Wl,-rpath,'$$ORIGIN/../../$(LIBDIR)' -lsessmgr $$(pkg-config --libs libmicrohttpd) -lcrypt -pthread

# Also gives the library its soname's name, which programs linked to it ask for at run time.
lib:
	cargo build --release --lib
	ln -sf libsessmgr.so $(LIBDIR)/$(SONAME)

examples_c/build/host: examples_c/host.c include/sessmgr.h lib
	mkdir -p examples_c/build
	$(CC) $(CFLAGS) -Iinclude examples_c/host.c -o $@ -L$(LIBDIR) -Wl,-rpath,'$$ORIGIN/../../$(LIBDIR)' -lsessmgr

# The C request-mix benchmark (1 and 2 threads) at 1,000, 100,000 and 1,000,000 sessions.
bench: examples_c/build/request_mix
	for n in 1000 100000 1000000; do examples_c/build/request_mix $$n 3; done

examples_c/build/request_mix: benches/c/request_mix.c include/sessmgr.h lib
	mkdir -p examples_c/build
	$(CC) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude benches/c/request_mix.c -o $@ -L$(LIBDIR) -Wl,-rpath,'$$ORIGIN/../../$(LIBDIR)' -lsessmgr -lpthread

# Builds, then installs the shared library (with its soname links), the static library, both
# headers and sessmgr.pc under $(DESTDIR)$(PREFIX). The libraries are installed without their
# debug information; the shared library's is kept in lib/.debug/ (where gdb looks for it, by
# the library's debug link).
install: lib
	$(MAKE) install-files BUILD=$(LIBDIR)

DEBUG_FILE := .debug/libsessmgr.so.$(VERSION).debug

install-files:
	install -d $(INSTALL_LIB)/pkgconfig $(INSTALL_LIB)/.debug $(INSTALL_INCLUDE)
	objcopy --only-keep-debug $(BUILD)/libsessmgr.so $(INSTALL_LIB)/$(DEBUG_FILE)
	chmod 0644 $(INSTALL_LIB)/$(DEBUG_FILE)
	objcopy --strip-debug --strip-unneeded --add-gnu-debuglink=$(INSTALL_LIB)/$(DEBUG_FILE) \
	    $(BUILD)/libsessmgr.so $(INSTALL_LIB)/libsessmgr.so.$(VERSION)
	chmod 0755 $(INSTALL_LIB)/libsessmgr.so.$(VERSION)
	ln -sf libsessmgr.so.$(VERSION) $(INSTALL_LIB)/$(SONAME)
	ln -sf $(SONAME) $(INSTALL_LIB)/libsessmgr.so
	objcopy --strip-debug $(BUILD)/libsessmgr.a $(INSTALL_LIB)/libsessmgr.a
	chmod 0644 $(INSTALL_LIB)/libsessmgr.a
	install -m 0644 include/sessmgr.h include/sessmgr.hpp $(INSTALL_INCLUDE)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PREFIX)/lib|' -e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
	    -e 's|@VERSION@|$(VERSION)|' sessmgr.pc.in > $(INSTALL_LIB)/pkgconfig/sessmgr.pc

uninstall:
	rm -f $(INSTALL_LIB)/libsessmgr.so $(INSTALL_LIB)/$(SONAME) $(INSTALL_LIB)/libsessmgr.so.$(VERSION) \
	      $(INSTALL_LIB)/$(DEBUG_FILE) $(INSTALL_LIB)/libsessmgr.a $(INSTALL_LIB)/pkgconfig/sessmgr.pc \
	      $(INSTALL_INCLUDE)/sessmgr.h $(INSTALL_INCLUDE)/sessmgr.hpp
	rmdir --ignore-fail-on-non-empty $(INSTALL_LIB)/.debug 2>/dev/null || true

clean:
	rm -rf examples_c/build
