// The binding bucket's binding cache kept as rows: what is stored is what is read back, a renewal reaches the rows, and
// freed rows are reused.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BindingTableSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.FromHours(1));
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");

    private static MobilitySession Session(int id, params string[] prefixes) => new(id, [.. prefixes.Select(Ipv6Prefix.Parse)], Mag1,
        AccessTechnologyType.Ieee8023, "0200000000" + id.ToString("x2"), null, T0, TimeSpan.FromHours(1), Pmip6Timestamp.FromDateTimeOffset(T0),
        (ushort)(10 + id), SessionState.Active, null);

    /// <summary>Field by field, prefixes by value (a record compares an ImmutableArray by its array).</summary>
    private static void AssertSame(BindingState expected, BindingState actual)
    {
        Assert.Equal((expected.MobileNodeId, expected.NextSessionId, expected.Sessions.Length), (actual.MobileNodeId, actual.NextSessionId, actual.Sessions.Length));
        for (var i = 0; i < expected.Sessions.Length; i++)
        {
            var (e, a) = (expected.Sessions[i], actual.Sessions[i]);
            Assert.Equal(e.Prefixes.AsEnumerable(), a.Prefixes.AsEnumerable());
            Assert.Equal(e with { Prefixes = [] }, a with { Prefixes = [] });
            Assert.Equal(e.RegisteredAt.Offset, a.RegisteredAt.Offset);
        }
    }

    [Fact]
    public void Every_field_of_every_session_reads_back_as_it_was_stored_in_order()
    {
        var table = new BindingTable(capacity: 1);
        var awaiting = new MobilitySession(3, [Ipv6Prefix.Parse("2001:db8:a003::/64")], Mag2, AccessTechnologyType.Ieee80211, null,
            Ipv6Address.Parse("fe80::1"), T0.AddMinutes(-5), TimeSpan.FromMinutes(30), null, 0, SessionState.AwaitingNewMag, T0.AddSeconds(1));
        var state = new BindingState("mn1@example", [Session(2, "2001:db8:a001::/64", "2001:db8:a002::/64"), awaiting, Session(1, "2001:db8:a004::/64")], 4);
        var noPrefix = new BindingState("mn2@example", [Session(1)], 2);

        table["mn1@example"] = state;
        table["mn2@example"] = noPrefix;

        Assert.Equal(2, table.Count);
        Assert.True(table.TryGetValue("mn1@example", out var read));
        AssertSame(state, read);
        Assert.True(table.TryGetValue("mn2@example", out var read2));
        AssertSame(noPrefix, read2);
        Assert.False(table.TryGetValue("mn3@example", out _));
        Assert.Equal(state.NextDeadline, table.NextDeadline("mn1@example"));
        Assert.Equal(awaiting.DeleteAt, table.NextDeadline("mn1@example")); // the awaiting session's delay ends first
        Assert.Null(table.NextDeadline("mn3@example"));
        Assert.Equal(["mn1@example", "mn2@example"], table.Select(kv => kv.Key).Order());
    }

    [Fact]
    public void A_renewal_reaches_the_rows_and_reads_back_as_the_pure_fold_built_it()
    {
        var table = new BindingTable();
        var state = new BindingState("mn1@example", [Session(1, "2001:db8:a001::/64")], 2);
        table["mn1@example"] = state;
        var later = T0.AddMinutes(30);
        var refresh = new SessionRegistered("mn1@example", 1, RegistrationKind.Refresh, [Ipv6Prefix.Parse("2001:db8:a001::/64")], Mag1,
            AccessTechnologyType.Ieee8023, "020000000001", null, later, TimeSpan.FromMinutes(20), Pmip6Timestamp.FromDateTimeOffset(later), 99);

        Assert.True(table.TryRenew(refresh));
        table.ForgetLast(); // what the bucket does after each PBU: the next read is built from the rows

        Assert.True(table.TryGetValue("mn1@example", out var read));
        AssertSame(state.Apply(refresh), read);
        Assert.Equal(later + TimeSpan.FromMinutes(20), table.NextDeadline("mn1@example"));
        Assert.False(table.TryRenew(refresh with { ProxyCoa = Mag2 })); // a handover is not a renewal: nothing written
        table.ForgetLast();
        Assert.True(table.TryGetValue("mn1@example", out var unchanged));
        Assert.Equal(Mag1, Assert.Single(unchanged.Sessions).ProxyCoa);
        Assert.False(table.TryRenew(refresh with { MobileNodeId = "mn2@example" }));
    }

    [Fact]
    public void Rows_of_removed_and_replaced_states_are_reused_and_what_was_read_before_does_not_change()
    {
        var table = new BindingTable(capacity: 4);
        for (var i = 0; i < 4; i++)
            table[$"mn{i}@example"] = new BindingState($"mn{i}@example", [Session(1, $"2001:db8:a00{i}::/64")], 2);
        Assert.True(table.TryGetValue("mn0@example", out var before));
        var snapshot = table.Values.ToList();

        Assert.True(table.Remove("mn0@example"));
        Assert.False(table.Remove("mn0@example"));
        table["mn4@example"] = new BindingState("mn4@example", [Session(1, "2001:db8:a004::/64")], 2);
        table["mn1@example"] = new BindingState("mn1@example", [Session(2, "2001:db8:a001::/64")], 3); // replaced in place

        Assert.Equal(4, table.RowCapacity); // the freed rows were taken again
        Assert.Equal(4, table.Count);
        Assert.False(table.TryGetValue("mn0@example", out _));
        Assert.True(table.TryGetValue("mn4@example", out var added));
        Assert.Equal("2001:db8:a004::/64", Assert.Single(Assert.Single(added.Sessions).Prefixes).ToString());
        Assert.True(table.TryGetValue("mn1@example", out var replaced));
        Assert.Equal(2, Assert.Single(replaced.Sessions).Id);
        Assert.Equal("2001:db8:a000::/64", Assert.Single(Assert.Single(before.Sessions).Prefixes).ToString());
        Assert.Equal(1, snapshot.Single(s => s.MobileNodeId == "mn1@example").Sessions.Single().Id); // a snapshot keeps what was
    }

    [Fact]
    public void A_fold_s_state_stored_after_a_read_is_what_the_next_read_returns()
    {
        var table = new BindingTable();
        table["mn1@example"] = new BindingState("mn1@example", [Session(1, "2001:db8:a001::/64")], 2);
        Assert.True(table.TryGetValue("mn1@example", out var held)); // kept for the PBU being handled
        var next = held.Apply(new SessionDeregistered("mn1@example", 1, T0, T0.AddSeconds(1), null));

        table["mn1@example"] = next;

        Assert.True(table.TryGetValue("mn1@example", out var read));
        Assert.Equal(SessionState.AwaitingNewMag, Assert.Single(read.Sessions).State);
        Assert.Equal(T0.AddSeconds(1), table.NextDeadline("mn1@example"));
    }

    [Fact]
    public void A_query_answers_up_to_its_limit_those_at_the_mag_it_names_and_counts_every_session()
    {
        var table = new BindingTable();
        for (var i = 0; i < 6; i++)
            table[$"mn{i}@example"] = new BindingState($"mn{i}@example",
                i % 2 == 0 ? [Session(1, $"2001:db8:a00{i}::/64")] : [Session(1, $"2001:db8:a00{i}::/64") with { ProxyCoa = Mag2 }, Session(2, $"2001:db8:b00{i}::/64")], 3);

        Assert.Equal(9, table.Sessions);
        Assert.Equal(2, table.Where(2, null).Count());
        Assert.Equal(["mn1@example", "mn3@example", "mn5@example"], table.Where(10, Mag2).Select(s => s.MobileNodeId).Order());
        Assert.Empty(table.Where(0, null));
        Assert.Equal(6, table.Deadlines().Count());
        Assert.All(table.Deadlines(), d => Assert.Equal(table.NextDeadline(table.MobileNodeAt(d.Handle)!), d.Deadline));

        table.Remove("mn1@example");
        table["mn0@example"] = new BindingState("mn0@example", [Session(1, "2001:db8:a000::/64"), Session(2, "2001:db8:b000::/64")], 3);
        Assert.Equal(8, table.Sessions);
    }

    [Theory]
    [InlineData("020000000101")]
    [InlineData("00")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF01")]
    [InlineData("02")]
    [InlineData("abc")]
    [InlineData("0a0b")]
    [InlineData("")]
    [InlineData(null)]
    public void A_link_layer_identifier_reads_back_exactly_packed_or_not(string? linkLayerId)
    {
        var table = new BindingTable();
        var session = new MobilitySession(1, [Ipv6Prefix.Parse("2001:db8:a001::/64")], Mag1, AccessTechnologyType.Ieee8023, linkLayerId, null,
            T0, TimeSpan.FromHours(1), null, 1, SessionState.Active, null);
        table["mn1@example"] = new BindingState("mn1@example", [session], 2);

        Assert.True(table.TryGetValue("mn1@example", out var read));
        Assert.Equal(linkLayerId, Assert.Single(read.Sessions).LinkLayerId);
    }

    [Fact]
    public void Thousands_of_mobile_nodes_of_every_kind_of_mn_id_are_found_again_after_the_table_grew_lost_some_and_took_them_back()
    {
        // Each number in six forms: inline ASCII, the same in upper case, the longest inline one, one a character longer,
        // a non-ASCII one (kept as a string beside the nodes) and a shorter prefix of the first: each is its own MN.
        string[] Forms(int i) =>
        [
            $"mn{i}@example", $"MN{i}@EXAMPLE", $"mn{i}@".PadRight(BindingTable.InlineKeyOctets, 'x'),
            $"mn{i}@".PadRight(BindingTable.InlineKeyOctets + 1, 'x'), $"mn{i}@bücher.example", $"mn{i}@exampl",
        ];
        var ids = Enumerable.Range(0, 600).SelectMany(Forms).ToList();
        var table = new BindingTable(capacity: 1);
        foreach (var id in ids)
            table[id] = new BindingState(id, [Session(1, "2001:db8:a001::/64")], 2);
        var removed = ids.Where((_, i) => i % 3 == 0).ToList();
        foreach (var id in removed)
            Assert.True(table.Remove(id));
        foreach (var id in removed.Take(removed.Count / 2)) // back on freed nodes, relinked into their slots
            table[id] = new BindingState(id, [Session(2, "2001:db8:a002::/64")], 3);

        var back = removed.Take(removed.Count / 2).ToHashSet();
        var held = ids.Where((id, i) => i % 3 != 0 || back.Contains(id)).ToList();
        Assert.Equal(held.Count, table.Count);
        Assert.All(held, id => Assert.True(table.TryGetValue(id, out var s) && s.MobileNodeId == id
                                           && s.Sessions[0].Id == (back.Contains(id) ? 2 : 1)));
        Assert.All(removed.Skip(removed.Count / 2), id => Assert.False(table.TryGetValue(id, out _)));
        Assert.Equal(held.Order(StringComparer.Ordinal), table.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal(held.Order(StringComparer.Ordinal), table.Values.Select(s => s.MobileNodeId).Order(StringComparer.Ordinal));
        Assert.False(table.TryGetValue("mn1@EXAMPLE", out _)); // neither form of mn1: MN-IDs compare ordinally
        Assert.False(table.TryGetValue("mn1@exa", out _));
    }

    [Fact]
    public void A_handle_names_its_mobile_node_until_it_is_removed_and_then_the_next_one_added()
    {
        var table = new BindingTable();
        table["mn1@example"] = new BindingState("mn1@example", [Session(1, "2001:db8:a001::/64")], 2);
        table["mn2@example"] = new BindingState("mn2@example", [Session(1, "2001:db8:a002::/64")], 2);
        Assert.True(table.TryGetHandle("mn1@example", out var handle));
        Assert.Equal("mn1@example", table.MobileNodeAt(handle));

        table["mn1@example"] = new BindingState("mn1@example", [Session(1, "2001:db8:a001::/64"), Session(2, "2001:db8:a003::/64")], 3);
        Assert.True(table.TryGetHandle("mn1@example", out var again));
        Assert.Equal(handle, again); // a changed state keeps its handle

        table.Remove("mn1@example");
        Assert.False(table.TryGetHandle("mn1@example", out _));
        Assert.Null(table.MobileNodeAt(handle));
        Assert.Null(table.MobileNodeAt(-1));
        Assert.Null(table.MobileNodeAt(1000));

        table["mn3@example"] = new BindingState("mn3@example", [Session(1, "2001:db8:a004::/64")], 2);
        Assert.Equal("mn3@example", table.MobileNodeAt(handle)); // taken over: the deadline queue's entry fires early for mn3
        Assert.True(table.TryGetHandle("mn3@example", out var taken) && taken == handle); // found through its slot too
        Assert.True(table.TryGetValue("mn3@example", out var mn3) && mn3.MobileNodeId == "mn3@example");
        Assert.Equal((2, 2), (table.Count, table.Sessions));
    }
}
