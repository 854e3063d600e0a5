-- replay.lua — pktgen-dpdk: replay the pcap given with -s 0:FILE in phases
-- (full speed, then 80 %) and print offered and answered packets per phase,
-- the pktgen counterpart of rvgen's report (pktgen-scenarios/README.md).
--
--   RV_SECONDS=10 RV_RATES="100 80" \
--   pktgen -l 0-2 -n 4 -a PCI -- -P -m "[1:2].0" -s 0:binding-flood.pcap -f replay.lua
--
-- No latency figures: pktgen's latency mode sends its own packets, not the
-- scenario's (rvgen times the scenario's own requests).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local port = "0"
local secs = tonumber(os.getenv("RV_SECONDS") or "10")
local rates = os.getenv("RV_RATES") or "100 80"

pktgen.set(port, "count", 0)
pktgen.pcap(port, "enable")
for rate in string.gmatch(rates, "%S+") do
	pktgen.set(port, "rate", tonumber(rate))
	pktgen.clr()
	pktgen.start(port)
	pktgen.delay(secs * 1000)
	pktgen.stop(port)
	pktgen.delay(1000) -- late answers
	local st = pktgen.portStats(port, "port")[tonumber(port)]
	local sent, got = st.opackets, st.ipackets
	printf("replay: rate %s %%: offered %d (%.0f pps), answered %d (%.0f pps), %.3f %% of offered\n",
	       rate, sent, sent / secs, got, got / secs, sent > 0 and 100 * got / sent or 0)
end
pktgen.quit()
