// The RFC 5847 Restart Counter of a node: read from a small file, incremented and written back at
// every start, so peers can tell a restart from a glitch.
namespace Pmip6Akka.Hosts.Daemons;

public static class RestartCounter
{
    public static uint Next(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        uint current = 0;
        if (File.Exists(file) && !uint.TryParse(File.ReadAllText(file).Trim(), out current))
            throw new IOException($"restart counter file {file} does not hold a number; remove it to start from 1");
        var next = unchecked(current + 1);
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, next.ToString());
        File.Move(temporary, file, overwrite: true);
        return next;
    }
}
