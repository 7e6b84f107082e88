// The test helper for network namespaces: names, isolation, and that nothing is left behind.
using Pmip6Akka.Dataplane.Linux.Interop;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public class NetworkNamespacesSpec
{
    private static bool Mounted(string ns) => File.Exists(Path.Combine(NetworkNamespaces.RunDirectory, ns));

    [Fact]
    public void The_namespaces_are_gone_after_the_fixture_is_disposed()
    {
        string a, b;
        using (var namespaces = new NetworkNamespaces())
        {
            a = namespaces.Create('a');
            b = namespaces.Create('b');
            namespaces.Veth(a, "va", b, "vb");
            namespaces.AddAddress(a, "va", "2001:db8:ff::1/64");
            Assert.Contains(a, NetworkNamespaces.List());
            Assert.Contains(b, NetworkNamespaces.List());
            Assert.Equal([a, b], namespaces.Names);
        }

        Assert.DoesNotContain(a, NetworkNamespaces.List());
        Assert.DoesNotContain(b, NetworkNamespaces.List());
        Assert.False(Mounted(a));
        Assert.False(Mounted(b));
    }

    [Fact]
    public void The_namespaces_are_removed_even_when_code_run_inside_them_throws()
    {
        string ns = "";
        var thrown = Record.Exception(() =>
        {
            using var namespaces = new NetworkNamespaces();
            ns = namespaces.Create('x');
            namespaces.Run(ns, () => throw new InvalidOperationException("boom inside the namespace"));
        });

        Assert.Equal("boom inside the namespace", Assert.IsType<InvalidOperationException>(thrown).Message);
        Assert.NotEqual("", ns);
        Assert.DoesNotContain(ns, NetworkNamespaces.List());
        Assert.False(Mounted(ns));
    }

    [Fact]
    public void Namespace_names_start_with_the_test_prefix_and_fit_an_interface_name()
    {
        using var first = new NetworkNamespaces();
        using var second = new NetworkNamespaces();
        var a = first.Create('m');
        var b = second.Create('m');

        Assert.StartsWith("pmip-t", a);
        Assert.InRange(a.Length, 1, 15);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Code_run_in_a_namespace_sees_that_namespace_and_the_calling_thread_does_not()
    {
        using var namespaces = new NetworkNamespaces();
        var a = namespaces.Create('a');
        var b = namespaces.Create('b');
        namespaces.Veth(a, "pmipt-va", b, "pmipt-vb");

        Assert.True(namespaces.Run(a, () => NetInterface.IndexOf("pmipt-va", out _)) > 0);
        Assert.Equal(0, namespaces.Run(a, () => NetInterface.IndexOf("pmipt-vb", out _)));
        Assert.True(namespaces.Run(b, () => NetInterface.IndexOf("pmipt-vb", out _)) > 0);
        Assert.Equal(0, NetInterface.IndexOf("pmipt-va", out var errno));
        Assert.Equal(Tmds.Linux.LibC.ENODEV, errno);
    }
}
