// What `lab up` leaves in the run directory for the later verbs: the lab's size and which MAG each
// mobile node is attached to (state.json), and one pid file per daemon (pids/NAME.pid). Written
// atomically (rename), so a crash never leaves half a file.
using System.Globalization;
using System.Text.Json;

namespace Pmip6Akka.Hosts.Lab;

public sealed record LabState(int Mags, int MobileNodes, Dictionary<string, string> Placement)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static string FilePath(string runDirectory) => Path.Combine(runDirectory, "state.json");

    public LabPlan Plan => new(Mags, MobileNodes, Interfaces, Lmas, Store);

    /// <summary>`lab up --lmas`: LMA nodes (1 for a state file written before the option).</summary>
    public int Lmas { get; init; } = 1;

    /// <summary>`lab up --store`: the LMA's journal, sqlite or postgres.</summary>
    public string Store { get; init; } = LabPlan.Sqlite;

    /// <summary>`lab up --interfaces`: 1, or 2 (each node also on mag2 through eth1); 1 for a state file written before the option.</summary>
    public int Interfaces { get; init; } = 1;

    /// <summary>Whether `pmip6 mn-reflector` runs in each mobile node (two interfaces only).</summary>
    public bool MnReflector { get; init; }

    /// <summary>Two interfaces only: "weak-host" or "shared-prefix" (`lab up --mn-model`).</summary>
    public string? MnModel { get; init; }

    /// <summary>The LMA's handover buffering as `lab up --buffering` set it ("on" or "off"); "on" for a state file written before the option.</summary>
    public string Buffering { get; init; } = "on";

    /// <summary>`lab up --buffer-max-packets`, when given.</summary>
    public int? BufferMaxPackets { get; init; }

    /// <summary>The lab that is up, or a failure telling the user to start one.</summary>
    public static LabState Load(string runDirectory)
    {
        var file = FilePath(runDirectory);
        if (!File.Exists(file))
            throw new LabFailure($"no lab is up ({file} is missing): start one with pmip6 lab up");
        try
        {
            return JsonSerializer.Deserialize<LabState>(File.ReadAllText(file), Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new LabFailure($"{file} is unreadable ({e.Message}): pmip6 lab down removes the lab");
        }
    }

    public void Save(string runDirectory)
    {
        var file = FilePath(runDirectory);
        File.WriteAllText(file + ".tmp", JsonSerializer.Serialize(this, Json));
        File.Move(file + ".tmp", file, overwrite: true);
    }

    public static string PidFile(string runDirectory, string daemon) => Path.Combine(runDirectory, "pids", daemon + ".pid");

    public static string LogFile(string runDirectory, string daemon) => Path.Combine(runDirectory, "logs", daemon + ".log");

    public static int? ReadPid(string runDirectory, string daemon)
    {
        try
        {
            return int.TryParse(File.ReadAllText(PidFile(runDirectory, daemon)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Every daemon pid file in the run directory: name → pid.</summary>
    public static Dictionary<string, int> ReadPids(string runDirectory)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var dir = Path.Combine(runDirectory, "pids");
        if (!Directory.Exists(dir))
            return result;
        foreach (var file in Directory.GetFiles(dir, "*.pid"))
            if (ReadPid(runDirectory, Path.GetFileNameWithoutExtension(file)) is { } pid)
                result[Path.GetFileNameWithoutExtension(file)] = pid;
        return result;
    }
}
