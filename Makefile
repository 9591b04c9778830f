# make && make install: builds ofad, ofactl and ofa-web in release mode and installs them with the systemd units.
# DESTDIR and PREFIX work as usual; `make install` does not start anything.
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
# e.g. SWIFT_BUILD_FLAGS=--static-swift-stdlib for binaries that need no Swift runtime on the target.
SWIFT_BUILD_FLAGS ?=
BIN = $(shell $(SWIFT) build -c release --show-bin-path)

.PHONY: all install uninstall test

all:
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS) --product ofad
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS) --product ofactl
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS) --product ofa-web

test:
	$(SWIFT) build --build-tests
	$(SWIFT) test

install: all
	install -Dm755 $(BIN)/ofad $(DESTDIR)$(PREFIX)/bin/ofad
	install -Dm755 $(BIN)/ofactl $(DESTDIR)$(PREFIX)/bin/ofactl
	install -Dm755 $(BIN)/ofa-web $(DESTDIR)$(PREFIX)/bin/ofa-web
	install -Dm755 clients/ofad-classify-tsv $(DESTDIR)$(PREFIX)/bin/ofad-classify-tsv
	install -Dm755 clients/ofad-raw.sh $(DESTDIR)$(PREFIX)/bin/ofad-raw
	install -Dm644 clients/python/ofad_client.py $(DESTDIR)$(PREFIX)/share/ofad/python/ofad_client.py
	install -Dm644 docs/protocol.md $(DESTDIR)$(PREFIX)/share/doc/ofad/protocol.md
	install -Dm644 docs/ofad.md $(DESTDIR)$(PREFIX)/share/doc/ofad/ofad.md
	sed 's|/usr/local/bin/ofad|$(PREFIX)/bin/ofad|' systemd/ofad.service > ofad.service.tmp
	install -Dm644 ofad.service.tmp $(DESTDIR)/etc/systemd/system/ofad.service
	rm -f ofad.service.tmp
	install -Dm644 systemd/ofad.socket $(DESTDIR)/etc/systemd/system/ofad.socket
	install -Dm644 systemd/ofad-gpu.conf $(DESTDIR)$(PREFIX)/share/doc/ofad/ofad-gpu.conf
	sed 's|/usr/local/bin/ofa-web|$(PREFIX)/bin/ofa-web|; s|/usr/local/share|$(PREFIX)/share|' systemd/ofa-web.service > ofa-web.service.tmp
	install -Dm644 ofa-web.service.tmp $(DESTDIR)/etc/systemd/system/ofa-web.service
	rm -f ofa-web.service.tmp
	install -Dm644 systemd/ofad.sysusers $(DESTDIR)/usr/lib/sysusers.d/ofad.conf
	install -Dm644 systemd/ofad.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/ofad.conf
	test -e $(DESTDIR)/etc/default/ofad || install -Dm644 systemd/ofad.default $(DESTDIR)/etc/default/ofad
	test -e $(DESTDIR)/etc/default/ofa-web || install -Dm644 systemd/ofa-web.default $(DESTDIR)/etc/default/ofa-web
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemd-sysusers ofad.conf 2>/dev/null || systemd-sysusers; \
		systemd-tmpfiles --create /usr/lib/tmpfiles.d/ofad.conf; \
		systemctl daemon-reload; \
		echo "installed: put the model in /var/lib/ofad/model, then: systemctl enable --now ofad.socket"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ofad $(DESTDIR)$(PREFIX)/bin/ofactl $(DESTDIR)$(PREFIX)/bin/ofad-classify-tsv \
		$(DESTDIR)$(PREFIX)/bin/ofad-raw $(DESTDIR)$(PREFIX)/bin/ofa-web
	rm -rf $(DESTDIR)$(PREFIX)/share/ofad $(DESTDIR)$(PREFIX)/share/doc/ofad
	rm -f $(DESTDIR)/etc/systemd/system/ofad.service $(DESTDIR)/etc/systemd/system/ofad.socket \
		$(DESTDIR)/etc/systemd/system/ofa-web.service \
		$(DESTDIR)/usr/lib/sysusers.d/ofad.conf $(DESTDIR)/usr/lib/tmpfiles.d/ofad.conf
