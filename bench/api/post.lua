-- bench/api/post.lua — wrk script for the write benchmark:
--   POST /api/v1/mailbox-requests {"kind":"add","address":"x@bench.test","target_user_id":ID}
-- run.sh passes the bearer token and the target seat through the environment:
--   MF_TOKEN=mf_...  MF_TARGET=usr_...  wrk -s bench/api/post.lua http://HOST:PORT/api/v1/mailbox-requests
-- A fixed address is fine: every request stores a new pending request row with its rule checks
-- (R2, R3, R5, R6, R7) and an audit entry, inside one write transaction.

local token = os.getenv("MF_TOKEN")
local target = os.getenv("MF_TARGET")
local address = os.getenv("MF_ADDRESS") or "x@bench.test"
if not token or not target then
   io.stderr:write("post.lua: set MF_TOKEN and MF_TARGET\n")
   os.exit(2)
end

wrk.method = "POST"
wrk.body = string.format('{"kind":"add","address":"%s","target_user_id":"%s"}', address, target)
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
