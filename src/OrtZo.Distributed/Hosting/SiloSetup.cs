using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OrtZo.Distributed.Coordinator;
using Orleans.Configuration;

namespace OrtZo.Distributed.Hosting;

/// <summary>Orleans configuration shared by every silo that may host a run coordinator or a worker.</summary>
public static class SiloSetup
{
    /// <summary>The coordinator grain's log-consistency provider: custom storage backed by an IRunJournal.</summary>
    public const string LogConsistencyProviderName = "OrtZoRunJournal";

    public const string ClusterId = "ortzo";
    public const string ServiceId = "ortzo";

    /// <summary>Registers the coordinator's journaled storage and the failure-detection timing.</summary>
    public static ISiloBuilder AddOrtZoRuntime(this ISiloBuilder silo, FailureDetection timing)
    {
        silo.AddCustomStorageBasedLogConsistencyProvider(LogConsistencyProviderName);
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = timing.ProbeTimeout;
            o.NumMissedProbesLimit = timing.MissedProbes;
            o.NumVotesForDeathDeclaration = 1;
        });
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = timing.ResponseTimeout);
        silo.Services.TryAddSingleton<CoordinatorActivations>();
        return silo;
    }

    /// <summary>Membership and endpoints for a cluster spec (not used by in-process test clusters, which bring their own).</summary>
    public static ISiloBuilder UseOrtZoCluster(this ISiloBuilder silo, ClusterSpec cluster, SiloEndpoints endpoints)
    {
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
        silo.ConfigureEndpoints(endpoints.Address, endpoints.SiloPort, endpoints.GatewayPort, listenOnAnyHostAddress: false);
        switch (cluster.Kind)
        {
            case ClusterKind.Localhost:
            case ClusterKind.Development:
                silo.UseDevelopmentClustering(cluster.Primary!);
                break;
            case ClusterKind.Redis:
                silo.UseRedisClustering(cluster.Connection!);
                break;
            case ClusterKind.Postgres:
                RegisterNpgsql();
                silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (PostgresInvariant, cluster.Connection!));
                break;
        }
        return silo;
    }

    /// <summary>Membership for a client (<c>ortzo train --distributed</c>) that only talks to the cluster.</summary>
    public static IClientBuilder UseOrtZoCluster(this IClientBuilder client, ClusterSpec cluster)
    {
        client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = FailureDetection.Default.ResponseTimeout);
        switch (cluster.Kind)
        {
            case ClusterKind.Localhost:
            case ClusterKind.Development:
                // the primary's gateway; clients of a development cluster share its single point of failure
                client.UseStaticClustering(new System.Net.IPEndPoint(cluster.Primary!.Address, cluster.Primary.Port + 1));
                break;
            case ClusterKind.Redis:
                client.UseRedisClustering(cluster.Connection!);
                break;
            case ClusterKind.Postgres:
                RegisterNpgsql();
                client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (PostgresInvariant, cluster.Connection!));
                break;
        }
        return client;
    }

    private const string PostgresInvariant = "Npgsql";

    private static void RegisterNpgsql()
    {
        if (!DbProviderFactories.TryGetFactory(PostgresInvariant, out _)) DbProviderFactories.RegisterFactory(PostgresInvariant, NpgsqlFactory.Instance);
    }
}
