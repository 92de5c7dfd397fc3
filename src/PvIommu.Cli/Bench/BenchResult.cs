using System.Text;
using System.Text.Json;

namespace PvIommu.Cli.Bench;

/// <summary>One workload's figures, in the order they were added; printed as one JSON line.</summary>
internal sealed class BenchResult
{
    private readonly List<KeyValuePair<string, object>> _fields = [];

    public BenchResult(string workload)
    {
        Workload = workload;
        Add("workload", workload);
        Add("impl", "csharp");
    }

    public string Workload { get; }

    public IReadOnlyList<KeyValuePair<string, object>> Fields => _fields;

    public BenchResult Add(string name, object value)
    {
        _fields.Add(new(name, value));
        return this;
    }

    /// <summary>The figure named <paramref name="name"/> as a number (tests read results this way).</summary>
    public double Number(string name) => Convert.ToDouble(_fields.First(f => f.Key == name).Value, System.Globalization.CultureInfo.InvariantCulture);

    public string ToJsonLine()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in _fields)
            {
                switch (value)
                {
                    case string s:
                        writer.WriteString(name, s);
                        break;
                    case double d:
                        writer.WriteNumber(name, Math.Round(d, 3));
                        break;
                    case long l:
                        writer.WriteNumber(name, l);
                        break;
                    case int i:
                        writer.WriteNumber(name, i);
                        break;
                    case bool b:
                        writer.WriteBoolean(name, b);
                        break;
                    default:
                        throw new InvalidOperationException($"field {name} has unsupported type {value.GetType().Name}");
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
