# syntax=docker/dockerfile:1
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY Allocation.Domain/Allocation.Domain.csproj Allocation.Domain/
COPY Allocation.Application/Allocation.Application.csproj Allocation.Application/
COPY Allocation.Infrastructure/Allocation.Infrastructure.csproj Allocation.Infrastructure/
COPY Allocation.Api/Allocation.Api.csproj Allocation.Api/
RUN dotnet restore Allocation.Api/Allocation.Api.csproj
COPY Allocation.Domain/ Allocation.Domain/
COPY Allocation.Application/ Allocation.Application/
COPY Allocation.Infrastructure/ Allocation.Infrastructure/
COPY Allocation.Api/ Allocation.Api/
RUN dotnet publish Allocation.Api/Allocation.Api.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# One listening setting: ASPNETCORE_URLS (Metrics:Port adds its port to it). The base image's
# ASPNETCORE_HTTP_PORTS=8080 is cleared, or every start would warn that URLS overrides it.
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_HTTP_PORTS= \
    DOTNET_gcServer=1
EXPOSE 8080
# The image's built-in unprivileged user.
USER $APP_UID
ENTRYPOINT ["dotnet", "Allocation.Api.dll"]
