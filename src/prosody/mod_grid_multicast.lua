-- mod_grid_multicast: XEP-0033 (Extended Stanza Addressing) multicast on a Prosody VirtualHost,
-- for trusted components only. Part of the XMPP-Grid controller.
--
-- Why: a notification that the controller (an XEP-0114 component) sends to 100 subscribers
-- costs the server 100 stanza parses on the component stream. With this module the controller
-- sends ONE <message to='HOST'> carrying an <addresses xmlns='http://jabber.org/protocol/address'>
-- list of type='bcc'; the server parses it once and delivers a copy to each address, exactly as
-- if the component had sent each copy itself (same routing, same bounces to the component).
--
-- Load it on the VirtualHost the grid nodes log in to:
--   plugin_paths = { "/usr/lib/prosody/modules"; "/path/to/controller/src/prosody" }
--   modules_enabled = { ...; "grid_multicast" }
--   VirtualHost "grid.test"
--     grid_multicast_senders = { "controller.grid.test" }  -- components allowed to multicast
--
-- Rules (default deny):
--  * only a component session whose host is listed in grid_multicast_senders may use it;
--    anyone else gets <forbidden/> and nothing is delivered;
--  * every address must be type='bcc' with a 'jid' on this host (no 'uri'/'node', no remote
--    JIDs: this is not an open relay); otherwise <bad-request/> and nothing is delivered;
--  * at most grid_multicast_max_addresses (default 1000) addresses; more: <not-acceptable/>
--    (XEP-0033 §8); the limit is advertised in disco#info as an XEP-0128 form (FORM_TYPE
--    http://jabber.org/protocol/address, field "message"), the shape ejabberd's mod_multicast uses;
--  * bcc addresses are never shown to recipients: the <addresses/> element is removed from
--    every copy (XEP-0033 §4.6.3).

-- Delivery (issue 15): the copy is what mod_message would deliver had the component sent it
-- itself, but made cheaply. The message is serialised ONCE per multicast (without `to`); each
-- copy is that text with its own `to`, written straight to the recipient's c2s session(s) —
-- the sessions mod_message would pick (full JID: that session; bare JID: the top resources,
-- or for a headline every available resource) — with no stanza clone, no event and no
-- re-serialisation per recipient. This is done only where it is provably the same: mod_message
-- is the only handler of message/bare and message/full on the host (no blocklist, carbons,
-- MAM, firewall…), and the session is a plain c2s session without stanza filters (no stream
-- management queue, no CSI). Everything else — an offline recipient, a session with filters,
-- other modules hooked — takes the general route: a copy per recipient through module:send,
-- so bounces and hooks behave as before. grid_multicast_direct = false turns the fast path off;
-- grid_multicast_timing = true (or GRID_MULTICAST_TIMING=1 in Prosody's environment) logs the
-- handler's CPU time per copy every 20,000 copies.
local st = require "util.stanza";
local jid = require "util.jid";
local modulemanager = require "core.modulemanager";

local NS = "http://jabber.org/protocol/address";
local senders = module:get_option_set("grid_multicast_senders", {});
local max_addresses = module:get_option_number("grid_multicast_max_addresses", 1000);
local direct = module:get_option_boolean("grid_multicast_direct", true);
local timing = module:get_option_boolean("grid_multicast_timing", os.getenv("GRID_MULTICAST_TIMING") == "1");

local full_sessions, bare_sessions = prosody.full_sessions, prosody.bare_sessions;
local host_events = prosody.hosts[module.host].events;
local xml_escape, clock = st.xml_escape, os.clock;
local s_find, s_sub = string.find, string.sub;

module:add_feature(NS);
module:add_extension(st.stanza("x", { xmlns = "jabber:x:data", type = "result" })
	:tag("field", { var = "FORM_TYPE", type = "hidden" }):text_tag("value", NS):up()
	:tag("field", { var = "message" }):text_tag("value", tostring(max_addresses)):up());

local function refuse(origin, stanza, etype, condition, text)
	if stanza.attr.type ~= "error" then
		origin.send(st.error_reply(stanza, etype, condition, text));
	end
	return true;
end

-- A JID of lowercase ASCII letters, digits and . _ - before '@this.host' (and no resource) is
-- already in its nodeprep'd form: stringprep would return it unchanged, so it is not run (one
-- pattern match, nothing allocated).
local prepped_pattern = "^[a-z0-9%._%-]+@"..module.host:gsub("%p", "%%%0").."$";
local function prep(address)
	if s_find(address, prepped_pattern) then return address, module.host; end
	local to = jid.prep(address);
	return to, to and jid.host(to);
end

-- "<message to='JID'", made once per recipient and kept: Prosody's garbage collector (the
-- default threshold of 105 % makes it mark the whole heap every 5 % of growth) charges every
-- byte allocated many times over, so a copy allocates nothing of its own.
local heads, n_heads = {}, 0;
local function head_of(to)
	local h = heads[to];
	if not h then
		if n_heads >= 20000 then heads, n_heads = {}, 0; end
		h = "<message to='"..xml_escape(to).."'";
		heads[to] = h;
		n_heads = n_heads + 1;
	end
	return h;
end

-- Whether delivering straight to sessions is what routing would do: mod_message loaded and the
-- only handler of the event (checked per multicast: modules can be loaded at any time).
local function only_mod_message(event)
	local handlers = host_events.get_handlers(event);
	return handlers ~= nil and #handlers == 1;
end

-- A session the prepared text may be written to as is: plain c2s, no stanza filters (stream
-- management, CSI) and no byte filters (compression, debug), so its send would be a write.
local function plain(session)
	if session.type ~= "c2s" or not session.rawsend or not session.conn then return false; end
	local filters = session.filters;
	if not filters then return true; end
	local out, bytes = filters["stanzas/out"], filters["bytes/out"];
	return not (out and out[1]) and not (bytes and bytes[1]);
end

-- The sessions mod_message would hand a message of `msg_type` to `to` to (nil: none, or one
-- that is not plain: the general route decides).
local function sessions_for(to, msg_type, bare_target)
	if not bare_target then
		local session = full_sessions[to];
		if session and plain(session) then return session; end
		return nil;
	end
	local user = bare_sessions[to];
	if not user then return nil; end
	if msg_type == "headline" then
		local list;
		for _, session in pairs(user.sessions) do
			if session.presence and session.priority >= 0 then
				if not plain(session) then return nil; end
				list = list or {};
				list[#list + 1] = session;
			end
		end
		return list;
	end
	local top = user.top_resources;
	if not top or not top[1] then return nil; end
	for i = 1, #top do
		if not plain(top[i]) then return nil; end
	end
	return top;
end

local stats = { multicasts = 0, copies = 0, direct = 0, routed = 0, validate = 0, prepare = 0, send = 0 };
local function report()
	local c = stats.copies;
	module:log("info", "grid_multicast timing: %d multicasts, %d copies (%d direct, %d routed); µs per copy: validate %.2f, prepare %.2f, send %.2f, total %.2f",
		stats.multicasts, c, stats.direct, stats.routed, stats.validate * 1e6 / c, stats.prepare * 1e6 / c, stats.send * 1e6 / c,
		(stats.validate + stats.prepare + stats.send) * 1e6 / c);
end

module:hook("message/host", function (event)
	local origin, stanza = event.origin, event.stanza;
	local addresses = stanza:get_child("addresses", NS);
	if not addresses then return; end -- not a multicast: leave it to others
	if stanza.attr.type == "error" then return true; end
	if origin.type ~= "component" or not senders:contains(origin.host) then
		module:log("warn", "multicast from %s refused: not in grid_multicast_senders", tostring(stanza.attr.from));
		return refuse(origin, stanza, "auth", "forbidden", "multicast is reserved to configured components");
	end
	local t0 = timing and clock();
	local targets = {};
	for address in addresses:childtags("address", NS) do
		local a = address.attr;
		local to, to_host;
		if a.jid then to, to_host = prep(a.jid); end
		if a.type ~= "bcc" or not to or a.uri or a.node or to_host ~= module.host then
			return refuse(origin, stanza, "modify", "bad-request",
				"only type='bcc' addresses with a jid on "..module.host.." are accepted");
		end
		targets[#targets + 1] = to;
	end
	if #targets == 0 then
		return refuse(origin, stanza, "modify", "bad-request", "no addresses");
	end
	if #targets > max_addresses then
		return refuse(origin, stanza, "modify", "not-acceptable", "more than "..max_addresses.." addresses");
	end
	local t1 = timing and clock();
	-- The message without <addresses/> (XEP-0033 §4.6.3). The router is done with `stanza` once
	-- this handler returns true, so its children are taken as they are, not copied.
	local message = st.clone(stanza, true);
	for i = 1, #stanza do
		local child = stanza[i];
		if child ~= addresses then
			message[#message + 1] = child;
			if child.name then message.tags[#message.tags + 1] = child; end
		end
	end
	local msg_type = message.attr.type;
	-- mod_message treats a message without type, or of type normal or chat, the same way; an
	-- error or groupchat takes the general route.
	local fast = direct and (msg_type == nil or msg_type == "normal" or msg_type == "chat" or msg_type == "headline")
		and only_mod_message("message/bare") and only_mod_message("message/full")
		and modulemanager.is_loaded(module.host, "message");
	local rest; -- the serialised message after "<message", without `to`
	if fast then
		message.attr.to = nil;
		rest = s_sub(tostring(message), #"<message" + 1);
	end
	local t2 = timing and clock();
	local n_direct = 0;
	for i = 1, #targets do
		local to = targets[i];
		local sessions = fast and sessions_for(to, msg_type, not s_find(to, "/", 1, true));
		if sessions then
			-- The copy is written in two pieces, both shared: the recipient's head and the rest.
			local h = head_of(to);
			if sessions.rawsend then
				local conn = sessions.conn;
				conn:write(h); conn:write(rest);
			else
				for j = 1, #sessions do
					local conn = sessions[j].conn;
					conn:write(h); conn:write(rest);
				end
			end
			n_direct = n_direct + 1;
		else
			-- A copy per recipient: a queue (e.g. stream management) may keep the stanza object.
			local copy = st.clone(message);
			copy.attr.to = to;
			module:send(copy, origin);
		end
	end
	if timing then
		local t3 = clock();
		stats.multicasts = stats.multicasts + 1;
		stats.copies = stats.copies + #targets;
		stats.direct = stats.direct + n_direct;
		stats.routed = stats.routed + #targets - n_direct;
		stats.validate = stats.validate + (t1 - t0);
		stats.prepare = stats.prepare + (t2 - t1);
		stats.send = stats.send + (t3 - t2);
		if stats.copies >= 20000 then
			report();
			for k in pairs(stats) do stats[k] = 0; end
		end
	end
	return true;
end, 10);
