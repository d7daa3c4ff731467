using System.Text;

namespace EfficientFT.Training.Data;

/// <summary>
/// An RFC 4180 reader: comma-separated fields, double-quoted fields may hold commas, line breaks and doubled quotes.
/// Written here rather than taken from a package because this is all the CSV support the readers need.
/// </summary>
internal static class CsvRecords
{
    /// <returns>Each record with the 1-based line it starts on, which is what an error message must point at.</returns>
    public static IEnumerable<(long Line, List<string> Fields)> Read(TextReader reader, string path)
    {
        long line = 1;
        while (reader.Peek() >= 0)
        {
            var start = line;
            var fields = new List<string>();
            var field = new StringBuilder();
            var quoted = false;
            var fieldWasQuoted = false;
            while (true)
            {
                var c = reader.Read();
                if (quoted)
                {
                    if (c < 0)
                    {
                        throw DataErrors.At(path, start, "quoted field is not closed before the end of the file.");
                    }

                    if (c == '"')
                    {
                        if (reader.Peek() == '"')
                        {
                            reader.Read();
                            field.Append('"');
                        }
                        else
                        {
                            quoted = false;
                        }
                    }
                    else
                    {
                        if (c == '\n')
                        {
                            line++;
                        }

                        field.Append((char)c);
                    }

                    continue;
                }

                if (c == '"' && field.Length == 0 && !fieldWasQuoted)
                {
                    quoted = true;
                    fieldWasQuoted = true;
                }
                else if (c == ',')
                {
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldWasQuoted = false;
                }
                else if (c is '\r' or '\n' or < 0)
                {
                    if (c == '\r' && reader.Peek() == '\n')
                    {
                        reader.Read();
                    }

                    if (c >= 0)
                    {
                        line++;
                    }

                    fields.Add(field.ToString());
                    break;
                }
                else if (fieldWasQuoted)
                {
                    throw DataErrors.At(path, line, "text after a closing quote.");
                }
                else
                {
                    field.Append((char)c);
                }
            }

            // A blank line is no record; without this a trailing empty line would read as one empty field.
            if (fields.Count > 1 || fields[0].Length > 0 || fieldWasQuoted)
            {
                yield return (start, fields);
            }
        }
    }
}
