// The node's binding index: it asks the buckets it hosts and adds up what they answer.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Tests.Scenarios;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BindingIndexSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    [Fact]
    public void A_bucket_that_does_not_answer_leaves_out_only_its_own_mobile_nodes()
    {
        var index = Sys.ActorOf(BindingIndex.Props());
        var answering = CreateTestProbe();
        var silent = CreateTestProbe(); // a bucket stopping for a hand-off, or recovering
        index.Tell(new BucketHosted(1, answering.Ref));
        index.Tell(new BucketHosted(2, silent.Ref));

        var view = index.Ask<BindingIndexView>(new GetBindingIndex(), TimeSpan.FromSeconds(10));
        answering.ExpectMsg<ListBindings>();
        answering.Reply(new BucketBindings(3, 4, []));
        silent.ExpectMsg<ListBindings>();

        Assert.True(view.Wait(BindingIndex.BucketTimeout + TimeSpan.FromSeconds(3)), "no answer after the per-bucket wait");
        Assert.Equal((3, 4), (view.Result.MobileNodes, view.Result.Sessions));
    }
}
