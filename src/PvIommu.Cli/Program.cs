using PvIommu.Cli;

return PviommuCommand.Run(args);
