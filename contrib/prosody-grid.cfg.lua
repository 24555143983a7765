-- Prosody side of an XMPP-Grid (Prosody 0.12 + prosody-modules). Put in prosody.cfg.lua, or
-- Include "/etc/prosody/conf.d/grid.cfg.lua"; replace grid.example, paths and the secret.
-- Tested: test/integration/contrib-config.test.ts starts Prosody with this file after a
-- minimal base config (Debian's usual modules, this instance's paths and loopback ports;
-- src/devgrid/contrib-config.ts says exactly what) and checks that the controller joins, a
-- node logs in with its certificate and registers, XEP-0033 is offered, and a certificate
-- from another CA is refused.

-- Nodes log in with their X.509 certificate only: SASL EXTERNAL via mod_auth_ccert
-- (prosody-modules); the JID comes from the certificate's xmppAddr SAN.
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
authentication = "ccert"
certificate_match = "xmppaddr"
c2s_direct_tls_ports = { 5223 }   -- the agent prefers xmpps:// (direct TLS)

-- Ask for and really check client certificates against the grid's CA. Prosody's default
-- verifyext "lsec_ignore_purpose" checks a client certificate as if it were a server one (a
-- clientAuth-only certificate then fails "unsuitable certificate purpose"): turn it off.
local grid_ssl = {
  certificate = "/etc/prosody/certs/grid.example.crt";
  key = "/etc/prosody/certs/grid.example.key";
  cafile = "/etc/grid-controller/ca/grid-ca.crt";
  verify = { "peer"; "client_once" };
  verifyext = { lsec_ignore_purpose = false };
}
c2s_ssl = grid_ssl
c2s_direct_tls_ssl = grid_ssl     -- direct TLS reads this global block, not the VirtualHost's

-- Certificate logins have no offline store to fill: the controller counts bounces and nodes
-- catch up with after_seq (PROTOCOL §5).
modules_disabled = { "offline" }

-- Per-connection read limit (mod_limits, Prosody core): a node that floods without waiting for
-- its answers is slowed by TCP backpressure on its own connection before its stanzas reach
-- the one component stream every node shares (README "Rate limits"). Keep the rate above your
-- largest publisher's payload rate; the controller's per-account limits do the rest.
limits = { c2s = { rate = "512kb/s"; burst = "2s" } }

-- Nagle off (TCP_NODELAY) on every connection: with it on, a node's answer written while the
-- component stream still waits for an ACK is held for the peer's delayed ACK (up to 40 ms),
-- and under another node's flood that tripled the other nodes' p99 (bench/README "Flood").
network_settings = { nagle = false }

-- The controller joins as an XEP-0114 component. The link has no TLS: loopback only.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }
component_stanza_size_limit = 512 * 1024   -- keep the controller's limits.stanza_bytes below it

VirtualHost "grid.example"
  ssl = { certificate = "/etc/prosody/certs/grid.example.crt"; key = "/etc/prosody/certs/grid.example.key" }
  -- Optional XEP-0033 fan-out for the controller: copy src/prosody/mod_grid_multicast.lua into
  -- plugin_paths and enable it here; only the listed components may use it.
  modules_enabled = { "grid_multicast"; "limits" }   -- limits: a global module, loaded once
  grid_multicast_senders = { "controller.grid.example" }

Component "controller.grid.example"
  component_secret = "CHANGE-ME"   -- the same value as GRID_XMPP_SECRET in secret.env
