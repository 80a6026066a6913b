/* netaddr.h — is an address one that outside-facing requests (webhooks) must not reach:
 * loopback, private (RFC 1918, unique-local), link-local, carrier-grade NAT, unspecified,
 * multicast, reserved and documentation ranges, IPv4 in IPv6 (mapped, NAT64) judged by its IPv4. */
#ifndef MF_NETADDR_H
#define MF_NETADDR_H
#include <stdbool.h>
#include <sys/socket.h>

bool netaddr_is_internal(const struct sockaddr *sa, socklen_t len);
/* host as written in a URL (name, IPv4 literal, IPv6 literal with or without brackets):
 * 1 = an internal address literal or a name of this machine ("localhost", "*.localhost"),
 * 0 = anything else (names are judged when they are resolved, by netaddr_is_internal) */
int netaddr_host_is_internal(const char *host);
#endif
