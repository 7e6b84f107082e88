namespace Pmip6Akka.Hosts.Tests;

public class CommandLineSpec
{
    [Fact]
    public void Help_lists_the_verbs()
    {
        var run = Cli.Run("--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("wire samples", run.Out);
        Assert.Contains("bench fuzz", run.Out);
        Assert.Contains("bench codec", run.Out);
        Assert.Contains("bench signaling", run.Out);
        Assert.Contains("bench dataplane", run.Out);
    }

    [Fact]
    public void An_unknown_verb_exits_2_with_one_line_naming_it()
    {
        var run = Cli.Run("teleport", "now");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("unknown command 'teleport now'", run.Err);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("bench fuzz --count -5", "--count must be an integer from 1")]
    [InlineData("bench fuzz --count lots", "--count must be an integer")]
    [InlineData("bench fuzz --colour blue", "unknown option --colour")]
    [InlineData("wire samples", "missing option --pcap")]
    [InlineData("wire samples --pcap", "option --pcap needs a value")]
    [InlineData("bench codec stray", "unexpected argument 'stray'")]
    public void Bad_arguments_exit_2_naming_the_problem(string line, string reason)
    {
        var run = Cli.Run(line.Split(' '));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(reason, run.Err);
    }

    [Fact]
    public void Fuzzing_reports_no_exception_and_no_over_read()
    {
        var run = Cli.Run("bench", "fuzz", "--count", "100000", "--seed", "42");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("100000 inputs, 0 exceptions, 0 over-reads", run.Out);
        Assert.Contains("seed 42", run.Out);
    }

    [Fact]
    public void Codec_benchmark_prints_a_figure_for_every_operation()
    {
        var run = Cli.Run("bench", "codec", "--iterations", "2000");
        Assert.Equal(0, run.ExitCode);
        foreach (var operation in new[] { "decode PBU", "decode PBA", "encode PBU", "encode PBA" })
            Assert.Contains(operation, run.Out);
    }
}
