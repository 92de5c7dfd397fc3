using BenchmarkDotNet.Running;

// Non-zero when a benchmark could not run or failed, so CI's smoke run notices.
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
