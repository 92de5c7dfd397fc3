using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace PvIommu.Benchmarks.Tests;

/// <summary>
/// Runs a benchmark method once, the way BenchmarkDotNet calls it but without the timing:
/// [Params] set to their first value, global setup, iteration setup, the method with its first
/// [Arguments], iteration cleanup, global cleanup. Setups and cleanups honour their Target.
/// </summary>
internal static class OneShot
{
    private const BindingFlags Instance = BindingFlags.Public | BindingFlags.Instance;

    /// <summary>Every [Benchmark] method of the benchmark assembly, by "Type.Method".</summary>
    public static IReadOnlyDictionary<string, MethodInfo> All { get; } = typeof(PageTableBenchmarks).Assembly
        .GetTypes()
        .Where(type => type is { IsClass: true, IsAbstract: false, IsPublic: true })
        .SelectMany(type => type.GetMethods(Instance))
        .Where(method => method.GetCustomAttribute<BenchmarkAttribute>() is not null)
        .ToDictionary(method => $"{method.ReflectedType!.Name}.{method.Name}");

    /// <summary>Runs <paramref name="name"/> once on a new instance; returns what the method returned.</summary>
    public static object? Run(string name)
    {
        var benchmark = All[name];
        var instance = Activator.CreateInstance(benchmark.ReflectedType!)!;
        SetFirstParams(instance);
        CallAll<GlobalSetupAttribute>(instance, benchmark);
        CallAll<IterationSetupAttribute>(instance, benchmark);
        var result = Call(instance, benchmark, FirstArguments(benchmark));
        CallAll<IterationCleanupAttribute>(instance, benchmark);
        CallAll<GlobalCleanupAttribute>(instance, benchmark);
        return result;
    }

    private static void SetFirstParams(object instance)
    {
        foreach (var member in instance.GetType().GetMembers(Instance))
        {
            if (member.GetCustomAttributes().Any(a => a is ParamsSourceAttribute or ParamsAllValuesAttribute))
            {
                throw new NotSupportedException($"{member.Name}: teach OneShot [ParamsSource]/[ParamsAllValues] before using them");
            }

            var value = member.GetCustomAttribute<ParamsAttribute>()?.Values.FirstOrDefault();
            switch (member)
            {
                case PropertyInfo property when value is not null:
                    property.SetValue(instance, value);
                    break;
                case FieldInfo field when value is not null:
                    field.SetValue(instance, value);
                    break;
            }
        }
    }

    private static object?[] FirstArguments(MethodInfo benchmark)
    {
        if (benchmark.GetCustomAttribute<ArgumentsSourceAttribute>() is not null)
        {
            throw new NotSupportedException($"{benchmark.Name}: teach OneShot [ArgumentsSource] before using it");
        }

        return benchmark.GetCustomAttributes<ArgumentsAttribute>().FirstOrDefault()?.Values ?? [];
    }

    private static void CallAll<TAttribute>(object instance, MethodInfo benchmark)
        where TAttribute : TargetedAttribute
    {
        foreach (var method in instance.GetType().GetMethods(Instance))
        {
            var attribute = method.GetCustomAttribute<TAttribute>();
            if (attribute is not null && (attribute.Targets is not { Length: > 0 } targets || targets.Contains(benchmark.Name)))
            {
                Call(instance, method, []);
            }
        }
    }

    private static object? Call(object instance, MethodInfo method, object?[] arguments)
    {
        var result = method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, arguments, null);
        if (result is Task task)
        {
            task.GetAwaiter().GetResult();
        }

        return result;
    }
}
