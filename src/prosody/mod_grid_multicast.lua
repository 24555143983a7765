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

local st = require "util.stanza";
local jid = require "util.jid";

local NS = "http://jabber.org/protocol/address";
local senders = module:get_option_set("grid_multicast_senders", {});
local max_addresses = module:get_option_number("grid_multicast_max_addresses", 1000);

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

local function without_addresses(tag)
	if tag.name == "addresses" and tag.attr.xmlns == NS then return nil; end
	return tag;
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
	local targets = {};
	for address in addresses:childtags("address", NS) do
		local a = address.attr;
		local to = a.jid and jid.prep(a.jid);
		if a.type ~= "bcc" or not to or a.uri or a.node or jid.host(to) ~= module.host then
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
	local message = st.clone(stanza);
	message:maptags(without_addresses);
	for i = 1, #targets do
		-- A copy per recipient: a queue (e.g. stream management) may keep the stanza object.
		local copy = st.clone(message);
		copy.attr.to = targets[i];
		module:send(copy, origin);
	end
	return true;
end, 10);
