/* netaddr.c — internal address ranges (see netaddr.h). Pure: no lookups, no sockets. */
#include "util/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool v4_internal(uint32_t a) /* host byte order */
{
    static const struct {
        uint32_t net, mask;
    } ranges[] = {
        {0x00000000, 0xff000000}, /* 0.0.0.0/8 "this network" */
        {0x0a000000, 0xff000000}, /* 10/8 */
        {0x64400000, 0xffc00000}, /* 100.64/10 carrier-grade NAT */
        {0x7f000000, 0xff000000}, /* 127/8 loopback */
        {0xa9fe0000, 0xffff0000}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 0xfff00000}, /* 172.16/12 */
        {0xc0000000, 0xffffff00}, /* 192.0.0/24 IETF protocol assignments */
        {0xc0000200, 0xffffff00}, /* 192.0.2/24 TEST-NET-1 */
        {0xc0a80000, 0xffff0000}, /* 192.168/16 */
        {0xc6120000, 0xfffe0000}, /* 198.18/15 benchmarking */
        {0xc6336400, 0xffffff00}, /* 198.51.100/24 TEST-NET-2 */
        {0xcb007100, 0xffffff00}, /* 203.0.113/24 TEST-NET-3 */
        {0xe0000000, 0xe0000000}, /* 224/3: multicast, reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if ((a & ranges[i].mask) == ranges[i].net) return true;
    return false;
}

static bool v6_internal(const unsigned char *b)
{
    static const unsigned char zero[16] = {0};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true; /* :: and ::1 */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || memcmp(b, zero, 12) == 0)
        return v4_internal((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
                           b[15]); /* IPv4-mapped, NAT64 and (deprecated) IPv4-compatible */
    if ((b[0] & 0xfe) == 0xfc) return true;                /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true; /* fe80::/10 link-local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true; /* fec0::/10 site-local (old) */
    if (b[0] == 0xff) return true;                          /* multicast */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true; /* 2001:db8::/32 */
    return false;
}

bool netaddr_is_internal(const struct sockaddr *sa, socklen_t len)
{
    if (!sa) return true;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_internal(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_internal(in6->sin6_addr.s6_addr);
    }
    return true; /* unix sockets and anything else we do not know: not for outside requests */
}

int netaddr_host_is_internal(const char *host)
{
    if (!host || !*host) return 0;
    char buf[64];
    size_t n = strlen(host);
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n < sizeof(buf)) {
        memcpy(buf, host, n);
        buf[n] = '\0';
        struct in_addr a4;
        struct in6_addr a6;
        /* inet_aton: also "127.1", "0x7f.0.0.1", "2130706433", which resolvers accept too */
        if (inet_aton(buf, &a4) == 1) return v4_internal(ntohl(a4.s_addr));
        if (inet_pton(AF_INET6, buf, &a6) == 1) return v6_internal(a6.s6_addr);
    }
    while (n > 0 && host[n - 1] == '.') n--; /* "localhost." */
    static const char lh[] = "localhost";
    size_t l = sizeof(lh) - 1;
    if (n == l && strncasecmp(host, lh, l) == 0) return 1;
    if (n > l && host[n - l - 1] == '.' && strncasecmp(host + n - l, lh, l) == 0) return 1;
    return 0;
}
