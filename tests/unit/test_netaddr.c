/* test_netaddr.c — which addresses outside-facing requests (webhooks) must not reach
 * (src/util/netaddr.c): every internal IPv4 and IPv6 range at its edges, IPv4 inside IPv6,
 * the literal forms a resolver accepts, and "localhost" names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "util/netaddr.h"

static bool v4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
    return netaddr_is_internal((struct sockaddr *)&a, sizeof(a));
}

static bool v6(const char *text)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
    return netaddr_is_internal((struct sockaddr *)&a, sizeof(a));
}

static void test_ipv4_ranges_and_their_edges(void **state)
{
    (void)state;
    const char *in[] = {"0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0",
                        "100.127.255.255", "127.0.0.1", "127.255.255.255", "169.254.169.254",
                        "172.16.0.0", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.168.0.1",
                        "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
                        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255"};
    const char *out[] = {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255",
                         "100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255",
                         "172.15.255.255", "172.32.0.0", "192.0.1.1", "192.167.255.255",
                         "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
                         "93.184.216.34"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        if (!v4(in[i])) fail_msg("%s should be internal", in[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        if (v4(out[i])) fail_msg("%s should be public", out[i]);
    }
}

static void test_ipv6_ranges_and_ipv4_inside(void **state)
{
    (void)state;
    const char *in[] = {"::", "::1", "fc00::1", "fdff:ffff::1", "fe80::1", "febf::1", "fec0::1",
                        "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3",
                        "64:ff9b::a9fe:a9fe" /* NAT64 of 169.254.169.254 */, "::127.0.0.1",
                        "::2" /* IPv4-compatible 0.0.0.2 */};
    const char *out[] = {"2606:4700::1111", "2a00:1450:4001::200e", "fbff::1",
                         "::ffff:8.8.8.8", "64:ff9b::808:808", "2001:db9::1"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        if (!v6(in[i])) fail_msg("%s should be internal", in[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        if (v6(out[i])) fail_msg("%s should be public", out[i]);
    }
    /* a family we do not know, or a short length, is never taken for public */
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "2606:4700::1111", &a.sin6_addr);
    assert_true(netaddr_is_internal((struct sockaddr *)&a, sizeof(struct sockaddr_in)));
    struct sockaddr u = {.sa_family = AF_UNIX};
    assert_true(netaddr_is_internal(&u, sizeof(u)));
    assert_true(netaddr_is_internal(NULL, 0));
}

static void test_hosts_as_written_in_urls(void **state)
{
    (void)state;
    const char *in[] = {"127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "017700000001",
                        "10.0.0.1", "[::1]", "::1", "[::ffff:192.168.1.1]", "[fd12::3]",
                        "localhost", "LocalHost", "localhost.", "api.localhost", "a.b.localhost."};
    const char *out[] = {"example.com", "8.8.8.8", "[2606:4700::1111]", "mylocalhost",
                         "localhost.example.com", "notlocalhost.", "", "[::1", "hooks.test"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        if (netaddr_host_is_internal(in[i]) != 1) fail_msg("%s should be internal", in[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        if (netaddr_host_is_internal(out[i]) != 0) fail_msg("%s should not be judged internal", out[i]);
    }
    assert_int_equal(netaddr_host_is_internal(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_ranges_and_their_edges),
        cmocka_unit_test(test_ipv6_ranges_and_ipv4_inside),
        cmocka_unit_test(test_hosts_as_written_in_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
