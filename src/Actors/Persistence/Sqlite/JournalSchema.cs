// The journal's tables: the columns and rows Akka.Persistence.Sql (linq2db, provider SQLite.MS) creates
// and reads, so a store written by either plugin is read by the other, and files from before this journal
// existed replay unchanged. `ordering` is the global insertion order; a row's payload is the bytes of the
// serializer named by `identifier`, with `manifest` as that serializer's string manifest.
namespace Pmip6Akka.Actors.Persistence.Sqlite;

internal static class JournalSchema
{
    /// <summary>
    /// A new store: Akka.Persistence.Sql's columns and its unique (persistence_id, sequence_number) index, but
    /// no AUTOINCREMENT (a second B-tree page written by every commit, for a guarantee we do not need: the
    /// highest row of each persistence id is never deleted, so neither is the global highest, and rowids are
    /// never reused) and not its indexes on created and sequence_number alone, which nothing we run queries
    /// by. Each commit then writes two B-tree leaves to the WAL instead of five. A store created by
    /// Akka.Persistence.Sql keeps its tables as they are; both plugins read and write either layout.
    /// </summary>
    public const string Create = """
        CREATE TABLE IF NOT EXISTS [journal]
        (
        	[ordering]        INTEGER        NOT NULL PRIMARY KEY,
        	[created]         INTEGER        NOT NULL,
        	[deleted]         Bit            NOT NULL,
        	[persistence_id]  NVarChar(255)  NOT NULL,
        	[sequence_number] INTEGER        NOT NULL,
        	[message]         VarBinary      NOT NULL,
        	[manifest]        NVarChar(500)      NULL,
        	[identifier]      INTEGER            NULL,
        	[writer_uuid]     NVarChar(128)      NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
        CREATE TABLE IF NOT EXISTS [tags]
        (
        	[ordering_id]    INTEGER       NOT NULL,
        	[tag]            NVarChar(64)  NOT NULL,
        	[sequence_nr]    INTEGER       NOT NULL,
        	[persistence_id] NVarChar(255) NOT NULL,

        	CONSTRAINT [PK_tags] PRIMARY KEY ([ordering_id], [tag])
        );
        CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
        CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
        """;

    public const string Insert =
        "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
        "VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7)";

    public const string InsertTag =
        "INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES (last_insert_rowid(), ?1, ?2, ?3)";

    public const string Replay =
        "SELECT sequence_number, message, manifest, identifier, writer_uuid, created FROM journal " +
        "WHERE persistence_id = $id AND deleted = 0 AND sequence_number >= $from AND sequence_number <= $to " +
        "ORDER BY sequence_number LIMIT $max";

    /// <summary>Deleted rows count too: a persistent actor's sequence numbers never restart after a delete.</summary>
    public const string Highest = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id";

    public const string HighestUpTo = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id AND sequence_number <= $to";

    // Deleting up to N keeps the highest row at or below N, marked deleted, so the highest sequence number
    // survives a delete of everything (Akka.Persistence.Sql does the same).
    public const string MarkDeleted = "UPDATE journal SET deleted = 1 WHERE persistence_id = $id AND sequence_number = $max";
    public const string DeleteBelow = "DELETE FROM journal WHERE persistence_id = $id AND sequence_number < $max";
    public const string DeleteTagsBelow = "DELETE FROM tags WHERE persistence_id = $id AND sequence_nr < $max";
}
